"""Drive winsim's WinRM service with pywinrm, a third-party client, and check what it gets back.

Usage: pywinrm_check.py ENDPOINT TRANSPORT USER PASSWORD [CA_PATH]
TRANSPORT is "ntlm" (message_encryption='always', for plain HTTP) or "basic" (HTTPS, CA_PATH
validates the server certificate). Prints one line per check; exits 1 at the first mismatch,
2 when pywinrm is missing.
"""
import sys

try:
    import winrm
    from winrm.exceptions import InvalidCredentialsError
except ImportError:
    print("the python module winrm is missing: run lab/install-deps.sh (it installs pywinrm into lab/.venv)", file=sys.stderr)
    sys.exit(2)


def session(endpoint, transport, user, password, ca):
    kwargs = dict(
        transport=transport,
        # Short, so the slow command outlives one Receive and pywinrm must poll again.
        operation_timeout_sec=1,
        read_timeout_sec=10,
    )
    if transport == "ntlm":
        kwargs["message_encryption"] = "always"
    if ca:
        kwargs["server_cert_validation"] = "validate"
        kwargs["ca_trust_path"] = ca
    return winrm.Protocol(endpoint=endpoint, username=user, password=password, **kwargs)


def expect(what, got, want):
    if got != want:
        print(f"FAIL {what}: got {got!r}, want {want!r}")
        sys.exit(1)
    print(f"ok {what}")


def main():
    endpoint, transport, user, password = sys.argv[1:5]
    ca = sys.argv[5] if len(sys.argv) > 5 else None
    p = session(endpoint, transport, user, password, ca)
    shell = p.open_shell()
    try:
        for what, cmd, args, want in [
            ("stdout", "echo", ["hello", "world"], (b"hello world\r\n", b"", 0)),
            ("stderr and exit code", "fail", ["7"], (b"", b"failed with 7\r\n", 7)),
            ("slow command polled past TimedOut", "sleep", ["2500"], (b"slept\r\n", b"", 0)),
        ]:
            cid = p.run_command(shell, cmd, args)
            out = p.get_command_output(shell, cid)
            p.cleanup_command(shell, cid)
            expect(what, out, want)
        cid = p.run_command(shell, "cat")
        p.send_command_input(shell, cid, b"line one\n", end=False)
        p.send_command_input(shell, cid, b"line two\n", end=True)
        expect("stdin in two Sends", p.get_command_output(shell, cid), (b"line one\nline two\n", b"", 0))
        p.cleanup_command(shell, cid)
    finally:
        p.close_shell(shell)

    bad = session(endpoint, transport, user, password + "x", ca)
    try:
        bad.open_shell()
        print("FAIL wrong password: the shell opened")
        sys.exit(1)
    except InvalidCredentialsError:
        print("ok wrong password refused")


if __name__ == "__main__":
    main()
