"""`python -m gateway`: serve the app as it is deployed (serving.py says how)."""

from gateway import serving
from service_runtime.serving import command_line


def main(argv: list[str] | None = None) -> None:
    serving.run(*command_line(serving.SERVICE, argv))


if __name__ == "__main__":
    main()
