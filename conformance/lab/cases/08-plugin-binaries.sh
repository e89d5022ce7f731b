# Our release binaries reach the guest and run there: each one in $LAB/bin answers VERSION with the
# spec versions it supports, from the guest's own libraries and with the cni helper's environment.
# Plugin behaviour is tested by each plugin's own cases; this one fails early and clearly when the
# binaries are missing or cannot start in the guest.
. "$LAB/guest/lib.sh"

found=""
for b in "$LAB"/bin/*; do
  [ -x "$b" ] || continue
  p=${b##*/}
  found="$found $p"
  out=$(env -i PATH=/bin CNI_COMMAND=VERSION "$b" < /dev/null) || { rc=$?; echo "$out"; fail "$p VERSION exited $rc without LD_LIBRARY_PATH"; }
  echo "$out"
  check "$p supports cniVersion 1.1.0" sh -c "echo '$out' | jq -e '.supportedVersions | index(\"1.1.0\")'"
  out=$(echo '{"cniVersion":"1.0.0"}' | cni "$p" VERSION "" "" "") || fail "$p VERSION through cni exited $?"
  check "$p through the cni helper supports 1.0.0" sh -c "echo '$out' | jq -e '.supportedVersions | index(\"1.0.0\")'"
done
[ -n "$found" ] || fail "no plugin binaries in $LAB/bin: build them (cargo build --release) or set LAB_BIN_DIR"
ok "binaries in the guest:$found"
