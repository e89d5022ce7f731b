# lab-timeout: 5
# Never returns (with a child of its own): the guest's per-case timeout must kill the whole
# session, report a timeout, and let the next case run.
sleep 100000 &
echo "hanging"
while :; do sleep 1; done
