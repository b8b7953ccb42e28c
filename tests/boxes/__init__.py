"""Real test machines ("boxes") for systemctl-shim: SysV, OpenRC and Alpine root
filesystems booted with their own init as PID 1 in private namespaces, and the
testinfra suite that runs on them. See tests/boxes/README.md."""
