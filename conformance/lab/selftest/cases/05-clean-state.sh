# Runs after 04-dirty-settings: the quick reset brought everything back to the baseline.
. "$LAB/guest/lib.sh"
. "$LAB/cases/clean-state.inc"
