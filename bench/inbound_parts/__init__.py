"""The parts of bench/inbound.py: its load generator, the hub it drives and
the agents connected to it, the baseline app, the timed phases and the
socket-memory runs."""
