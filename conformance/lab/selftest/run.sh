#!/bin/bash
# Same as conformance/lab/selftest.sh (the canonical entry point), for callers that look here.
exec bash "$(dirname "${BASH_SOURCE[0]}")/../selftest.sh" "$@"
