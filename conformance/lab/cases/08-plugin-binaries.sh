# Our release binaries reach the guest and run there: each one in $LAB/bin answers VERSION with the
# spec versions it supports, from the guest's own libraries (no LD_LIBRARY_PATH). Plugin behaviour
# is tested by each plugin's own cases; this one fails early and clearly when the binaries are
# missing or cannot start in the guest.
. "$LAB/guest/lib.sh"

found=""
for b in "$LAB"/bin/*; do
  [ -x "$b" ] || continue
  p=${b##*/}
  found="$found $p"
  if [ "$p" = nfvctl ]; then       # the operator's tool, not a plugin: it starts and prints its usage
    out=$(env -i PATH=/bin "$b" help 2>&1) || fail "nfvctl help exited $?: $out"
    echo "$out" | grep -q "nfvctl status" || fail "nfvctl help does not describe status: $out"
    continue
  fi
  out=$(env -i PATH=/bin CNI_COMMAND=VERSION "$b" < /dev/null) || { rc=$?; echo "$out"; fail "$p VERSION exited $rc"; }
  echo "$p: $out"
  check_eq "$p supports cniVersion 1.1.0 and 0.4.0" "true" \
    "$(echo "$out" | jq '.supportedVersions | (index("1.1.0") != null) and (index("0.4.0") != null)')"
done
[ -n "$found" ] || fail "no plugin binaries in $LAB/bin: build them (cargo build --release) or set LAB_BIN_DIR"
ok "binaries in the guest:$found"
