"""`systemctl` as PID 1 of a container (`systemctl init`, or bare `systemctl` when it is PID 1).

PID 1 itself stays small and never runs a job: it reaps, waits for signals (one blocking
sigtimedwait(), no polling), and runs every start and stop as a child process (`boot.py`), so the
engine's own waitpid() calls never race with PID 1's reaping of orphans.

    main.py      the loop: signals, reaping, boot, shutdown, the exit status
    status.py    <state dir>/init.json: who PID 1 is and what it is doing (is-system-running)
    reaper.py    collecting zombies; exit records for units whose keeper died
    leftovers.py what is left at the end: found below PID 1, signalled by pidfd
    spawn.py     starting children with a clean signal mask
    boot.py      the worker that starts the boot set / stops the units (python3 -m shim.init.boot)
"""
