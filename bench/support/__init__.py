"""What the benchmark scripts in bench/ share: their child processes, the org
they send for, CPU and memory readings, and py-spy profiles."""
