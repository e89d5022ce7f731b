# lab-timeout: 5
# Never returns (with a child of its own): the guest's per-case timeout must kill the whole
# session, report a timeout, and let the next case run.
# A child that keeps writing, so the next case can tell whether it survived the kill.
(while :; do echo beat >> /tmp/selftest-heartbeat; sleep 1; done) &
echo "hanging"
while :; do sleep 1; done
