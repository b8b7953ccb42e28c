"""The container tests: systemctl as PID 1 of a Debian 12 image, in runc and in a namespace box."""
