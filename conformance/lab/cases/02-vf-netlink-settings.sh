. "$LAB/guest/lib.sh"
ok placeholder
