"""The parts of bench/inbound.py: its load generator, the hub it drives and
the agents connected to it, the timed phases, the socket-memory runs and the
table of figures."""
