# Fails on purpose: the run must report it and exit non-zero.
. "$LAB/guest/lib.sh"
ok "a first check passes"
fail "this case fails on purpose"
# shellcheck disable=SC2317
ok "never reached"
