# lab-timeout: 5
# Hangs the guest: stops the case runner, so no verdict comes and the guest never powers off.
# The host must give up at its deadline, kill QEMU and fail the run.
echo "stopping the runner ($LAB_RUNNER_PID)"
kill -STOP "$LAB_RUNNER_PID"
