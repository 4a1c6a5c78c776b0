"""The chat service: WebSocket rooms, Redis fan-out, an authenticated socket, history in MongoDB."""
