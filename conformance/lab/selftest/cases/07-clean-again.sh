# Runs after 06-dirty-numvfs: the VFs were recreated and everything is back at the baseline.
. "$LAB/guest/lib.sh"
. "$LAB/cases/clean-state.inc"
