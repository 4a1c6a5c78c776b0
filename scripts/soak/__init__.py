"""`hatch run soak --minutes N`: a bounded, mixed load through the gateway, then: did everything come back?

The article's last section: pools drain under load, sockets accumulate, and none of it shows in
a test that runs for a second. This drives HTTP, SSE streams, WebSockets and processing through
the gateway of a system it starts itself (or `--base-url`), loopback only, paced so it stays
bounded in count as well as time, and then checks that nothing answered 5xx, every article
created is there, and each service's memory, file descriptors, Redis clients and database
connections are back to their baseline within a tolerance. load.py drives, resources.py
measures, verdict.py judges and writes the table.
"""
