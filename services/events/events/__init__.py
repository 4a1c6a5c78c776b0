"""The events service: Server-Sent Events over Redis Streams, from a finite demo to a resumable live stream."""
