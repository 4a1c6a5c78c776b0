"""Members grouped by a key: the rooms (by room id) and the notification sockets (by user id)."""

from chat.members import Member


class Groups:
    """The members of each group connected to this process. A group exists while it has members."""

    def __init__(self) -> None:
        self._groups: dict[str, set[Member]] = {}

    def join(self, key: str, member: Member) -> None:
        self._groups.setdefault(key, set()).add(member)

    def leave(self, key: str, member: Member) -> None:
        """Remove `member`; a group left empty is removed too. Leaving twice is harmless."""
        members = self._groups.get(key)
        if members is None:
            return
        members.discard(member)
        if not members:
            del self._groups[key]

    def sizes(self) -> dict[str, int]:
        """Every group that has members now, and how many."""
        return {key: len(members) for key, members in sorted(self._groups.items())}

    def deliver(self, key: str, text: str) -> int:
        """Offer `text` to every member of the group, without waiting; return how many took it.

        A member too far behind to take it is removed at once (it is closed by its own task), so
        the next message does not try it again. Each member's queue keeps the order, so every
        member receives the group's messages in the order they were delivered.
        """
        reached = 0
        size = len(text.encode())  # once, not once per member
        for member in list(self._groups.get(key, ())):
            if member.offer(text, size):
                reached += 1
            else:
                self.leave(key, member)
        return reached
