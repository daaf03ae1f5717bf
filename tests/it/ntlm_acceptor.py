#!/usr/bin/env python3
"""A small WinRM endpoint whose NTLM is pyspnego's, not sspi-rs's.

rwin's NTLM client and winsim's acceptor are both the sspi crate, so a mistake they share
(a flag, a key derivation, a sequence number) would pass every test between them. This
endpoint shares no code with rwin: the handshake, the message signatures and the RC4 sealing
are pyspnego's own Python NTLM (`spnego.server(protocol="ntlm")`, forced with
`NegotiateOptions.use_ntlm` so no system GSSAPI library stands in for it), and the
multipart/encrypted framing is parsed and built here from [MS-WSMV] 2.2.9.1.1.

What it serves, on POST /wsman on 127.0.0.1, over plain HTTP or, when ACCEPTOR_TLS_CERT and
ACCEPTOR_TLS_KEY name a PEM certificate and its key, over HTTPS:
- HTTP authentication as a Windows WinRM listener does it (RFC 4559, [MS-WSMV] 2.2.9.1):
  a request without credentials gets 401 with `WWW-Authenticate: Negotiate`; a NEGOTIATE token
  in `Authorization: Negotiate <b64>` (or `NTLM <b64>`) gets 401 with the CHALLENGE in
  `WWW-Authenticate`; the AUTHENTICATE token gets 200 when pyspnego accepts it and 401 when it
  does not. The context belongs to the TCP connection (one handler instance per connection).
- On an authenticated plain-HTTP connection, only encrypted requests ([MS-WSMV] 2.2.9.1.1):
  each is unwrapped with pyspnego's `unwrap_winrm(header, data)` and every answer is sealed
  with `wrap_winrm(data)`, in the same framing. Over HTTPS bodies go in clear inside TLS, as
  a Windows HTTPS listener takes them.
- Channel binding (Extended Protection), when ACCEPTOR_CBT_CERT names a PEM certificate: the
  acceptor is given the `tls-server-end-point` binding of that certificate (RFC 5929 section
  4.1: the hash its signature names, SHA-256 for MD5 and SHA-1) as pyspnego's
  GssChannelBindings, so pyspnego refuses an AUTHENTICATE without MsvAvChannelBindings or
  with another value ([MS-NLMP] 3.2.5.1.2), as a WinRM host with CbtHardeningLevel=Strict
  does. Naming the served certificate is an honest host; naming another one is what the host
  sees when a relay or a TLS-inspecting proxy showed the client its own certificate.
- WinRS just enough for one command: Create (3.1.4.5.2) answers a ShellId of its choosing,
  Command (3.1.4.11) a CommandId, Receive (3.1.4.14) the output of `echo <text>` (the only
  command it knows) with CommandState Done and exit code 0, Signal (3.1.4.12) and Delete
  (WS-Transfer) an empty answer. An unknown ShellId or CommandId gets an InvalidSelectors fault.

Credentials: the file named by NTLM_USER_FILE, one `DOMAIN:USER:PASSWORD` line per account
(pyspnego's `spnego._ntlm._get_credential` reads it; the domain may be empty: `:user:pw`).

Misbehaviours, for tests that rwin refuses what it must (ACCEPTOR_MODE; unset: none):
  impostor        never checks the AUTHENTICATE (as a host that does not know the password):
                  answers it 200, then answers every request in clear with HTTP 500 and a
                  forged WinRS answer, in the order Create, Command, Receive (exit code 0,
                  stdout "forged"), Signal, Delete.
  plain-fault     authenticates for real and decrypts each request, then answers it in clear
                  with HTTP 500 and a WinRM fault.
  plain-receive   serves for real, but answers a Receive in clear with HTTP 500 and a forged
                  ReceiveResponse (exit code 0, stdout "forged").
  drop-receive:S  the first Receive gets no answer: the connection is closed, and every
                  connection for the next S seconds is closed at its first request (a vSwitch
                  created on the NIC that carries WinRM drops connections for a while).

Output, one line each, flushed, for tests/it/winrm_interop.rs to read:
  listening 127.0.0.1:<port>
  auth ok <DOMAIN\\user as pyspnego authenticated it>
  auth refused <pyspnego's reason>
  decrypted <wsa:Action of the unwrapped envelope>
  received <wsa:Action of an envelope that came in clear over HTTPS>
  created shell <ShellId>
  error <what went wrong on the server's side>
The process exits when its standard input closes, so it cannot outlive the test.
"""

import base64
import http.server
import os
import re
import ssl
import time
import struct
import sys
import threading
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

try:
    import spnego
except ImportError as e:
    print(
        f"the python module spnego (pyspnego) is missing ({e}): run lab/install-deps.sh "
        "(it installs pyspnego into lab/.venv), or set RWIN_PYTHON",
        file=sys.stderr,
    )
    sys.exit(2)

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
TRANSFER = NS["x"]
SHELL = NS["rsp"]
CMD_RESOURCE = SHELL + "/cmd"
DONE = SHELL + "/CommandState/Done"
# The WSManFault code of a ShellId or CommandId the service does not know (0x8033805B).
INVALID_SELECTORS = 2150858843

# [MS-WSMV] 2.2.9.1.1 (Negotiate Encrypted Message): the Content-Type of an encrypted request
# and of its answer.
PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
CONTENT_TYPE = f'multipart/encrypted;protocol="{PROTOCOL}";boundary="Encrypted Boundary"'
BOUNDARY = b"--Encrypted Boundary\r\n"
END = b"--Encrypted Boundary--\r\n"
OCTET_STREAM = b"\tContent-Type: application/octet-stream\r\n"

_print_lock = threading.Lock()

MODE = os.environ.get("ACCEPTOR_MODE", "")
FORGED = base64.b64encode(b"forged\r\n").decode()
TLS = bool(os.environ.get("ACCEPTOR_TLS_CERT"))


def channel_bindings():
    """The GssChannelBindings for ACCEPTOR_CBT_CERT, or None when it is not set."""
    path = os.environ.get("ACCEPTOR_CBT_CERT")
    if not path:
        return None
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import Encoding
    from spnego.channel_bindings import GssChannelBindings

    with open(path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    algorithm = cert.signature_hash_algorithm
    if algorithm is None:
        sys.exit(f"{path}: RFC 5929 defines no tls-server-end-point binding for its signature")
    if algorithm.name in ("md5", "sha1"):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(cert.public_bytes(Encoding.DER))
    return GssChannelBindings(application_data=b"tls-server-end-point:" + digest.finalize())


BINDINGS = channel_bindings()


def acceptor():
    """A new pyspnego NTLM acceptor, with the channel bindings when there are any."""
    return spnego.server(
        protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm, channel_bindings=BINDINGS
    )


class Drop:
    """drop-receive:S: until when connections are dropped (0: not yet, None: done)."""

    lock = threading.Lock()
    until = 0.0
    dropped = 0

    @classmethod
    def now_dropping(cls, is_receive):
        """Whether to drop this request, starting the window at the first Receive."""
        if not MODE.startswith("drop-receive:"):
            return False
        with cls.lock:
            if cls.until == 0.0 and is_receive:
                cls.until = time.monotonic() + float(MODE.split(":", 1)[1])
            if cls.until and time.monotonic() < cls.until:
                cls.dropped += 1
                say(f"dropped connection {cls.dropped}")
                return True
            return False


def say(line):
    with _print_lock:
        print(line, flush=True)


class Refused(Exception):
    """A request this server will not serve; the message goes to the log and the answer."""


# ------------------------------------------------------------------ [MS-WSMV] 2.2.9.1.1.2


def unframe(body):
    """The (signature, sealed, original length) of each part of a multipart/encrypted body.

    Each part is two MIME parts ([MS-WSMV] 2.2.9.1.1.2): the encryption parameters (the
    protocol, and the plain message's type and Length), then the encrypted data (2.2.9.1.1.2.2:
    application/octet-stream, a 32-bit length of the encryption header, which for NTLM is its
    16-byte message signature, the header, then the sealed bytes). NTLM sealing keeps the
    length, so Length says where the sealed bytes end.
    """
    parts = []
    rest = body
    while True:
        if not rest.startswith(BOUNDARY):
            raise Refused("an encrypted part does not start with --Encrypted Boundary")
        rest = rest[len(BOUNDARY) :]
        at = rest.find(BOUNDARY)
        if at < 0:
            raise Refused("an encrypted part has no data section")
        params = rest[:at].decode("ascii", "replace")
        if f"\tContent-Type: {PROTOCOL}\r\n" not in params:
            raise Refused(f"the encryption parameters do not name {PROTOCOL}: {params!r}")
        m = re.search(r"\tOriginalContent: type=application/soap\+xml;charset=UTF-8;Length=(\d+)\r\n", params)
        if not m:
            raise Refused(f"no OriginalContent with a Length in {params!r}")
        length = int(m.group(1))
        rest = rest[at + len(BOUNDARY) :]
        if not rest.startswith(OCTET_STREAM):
            raise Refused("the encrypted data is not application/octet-stream")
        rest = rest[len(OCTET_STREAM) :]
        (sig_len,) = struct.unpack("<I", rest[:4])
        if sig_len != 16:
            raise Refused(f"the NTLM signature is {sig_len} bytes, not 16")
        signature = rest[4 : 4 + sig_len]
        sealed = rest[4 + sig_len : 4 + sig_len + length]
        if len(sealed) != length:
            raise Refused(f"the body ends inside the sealed data ({len(sealed)} of {length} bytes)")
        parts.append((signature, sealed, length))
        rest = rest[4 + sig_len + length :]
        if rest == END or rest == END[:-2]:
            return parts
        if not rest.startswith(BOUNDARY):
            raise Refused(f"the sealed data is followed by {rest[:40]!r}, not a boundary")


def frame(ctx, plain):
    """`plain` sealed by pyspnego's wrap_winrm and framed as [MS-WSMV] 2.2.9.1.1.2 says."""
    wrapped = ctx.wrap_winrm(plain)
    return (
        BOUNDARY
        + f"\tContent-Type: {PROTOCOL}\r\n".encode()
        + f"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={len(plain)}\r\n".encode()
        + BOUNDARY
        + OCTET_STREAM
        + struct.pack("<I", len(wrapped.header))
        + wrapped.header
        + wrapped.data
        + END
    )


# ------------------------------------------------------------------ WS-Management


class Shells:
    """The shells and commands this endpoint has handed out (shared by all connections)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.shells = {}  # ShellId -> {CommandId: output}


SHELLS = Shells()


def text(el, path):
    found = el.find(path, NS)
    return (found.text or "").strip() if found is not None else None


def envelope(action, relates_to, body):
    return (
        f'<s:Envelope xml:lang="en-US" xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" '
        f'xmlns:w="{NS["w"]}" xmlns:x="{NS["x"]}" xmlns:rsp="{NS["rsp"]}">'
        f"<s:Header><a:Action>{action}</a:Action>"
        f"<a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        f"<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:RelatesTo>{relates_to}</a:RelatesTo></s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    )


def fault(relates_to, subcode, message, code=""):
    """A SOAP fault with the WSManFault detail Windows sends ([MS-WSMV] 2.2.4.43)."""
    code = f' Code="{code}"' if code else ""
    message = escape(message)
    body = (
        f"<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>w:{subcode}</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{message}</s:Text></s:Reason>'
        f'<s:Detail><f:WSManFault xmlns:f="{NS["f"]}"{code} Machine="127.0.0.1">'
        f"<f:Message>{message}</f:Message></f:WSManFault></s:Detail></s:Fault>"
    )
    return 500, envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)


def run(command, args):
    """cmd.exe's `echo`, the one command this endpoint runs: (stdout, exit code)."""
    words = [command] + args
    if [w.lower() for w in words[:2]] in (["cmd.exe", "/c"], ["cmd", "/c"]):
        words = words[2:]
    line = " ".join(words)
    m = re.fullmatch(r"echo (.*)", line, re.DOTALL)
    if not m:
        return None
    return (m.group(1) + "\r\n").encode("utf-8"), 0


def answer(xml_text, how="decrypted"):
    """(HTTP status, answer envelope) for one request that came `how` (decrypted, received)."""
    root = ET.fromstring(xml_text)
    action = text(root, "s:Header/a:Action")
    message_id = text(root, "s:Header/a:MessageID")
    resource = text(root, "s:Header/w:ResourceURI")
    say(f"{how} {action}")
    if resource != CMD_RESOURCE:
        return fault(message_id, "InvalidResourceURI", f"unknown resource {resource}")
    shell_id = None
    for sel in root.findall("s:Header/w:SelectorSet/w:Selector", NS):
        if sel.get("Name") == "ShellId":
            shell_id = (sel.text or "").strip()
    with SHELLS.lock:
        if action == TRANSFER + "/Create":
            # [MS-WSMV] 3.1.4.5.2 and the example in 4.7.1: ResourceCreated with the shell's
            # reference, and (Windows 2012 on) the Shell itself.
            new = str(uuid.uuid4()).upper()
            SHELLS.shells[new] = {}
            say(f"created shell {new}")
            body = (
                f"<x:ResourceCreated><a:Address>http://127.0.0.1/wsman</a:Address>"
                f"<a:ReferenceParameters><w:ResourceURI>{CMD_RESOURCE}</w:ResourceURI>"
                f'<w:SelectorSet><w:Selector Name="ShellId">{new}</w:Selector></w:SelectorSet>'
                f"</a:ReferenceParameters></x:ResourceCreated>"
                f"<rsp:Shell><rsp:ShellId>{new}</rsp:ShellId><rsp:ResourceUri>{CMD_RESOURCE}</rsp:ResourceUri>"
                f"<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>"
                f"</rsp:Shell>"
            )
            return 200, envelope(TRANSFER + "/CreateResponse", message_id, body)
        commands = SHELLS.shells.get(shell_id)
        if commands is None:
            return fault(message_id, "InvalidSelectors", f"no shell with ShellId {shell_id}", INVALID_SELECTORS)
        if action == TRANSFER + "/Delete":
            del SHELLS.shells[shell_id]
            return 200, envelope(TRANSFER + "/DeleteResponse", message_id, "")
        if action == SHELL + "/Command":
            # [MS-WSMV] 3.1.4.11: rsp:CommandLine in, rsp:CommandResponse with a CommandId out.
            command = text(root, "s:Body/rsp:CommandLine/rsp:Command") or ""
            args = [(a.text or "") for a in root.findall("s:Body/rsp:CommandLine/rsp:Arguments", NS)]
            result = run(command, args)
            if result is None:
                return fault(message_id, "InternalError", f"this endpoint only runs echo, not {command} {args}")
            command_id = str(uuid.uuid4()).upper()
            commands[command_id] = result
            body = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
            return 200, envelope(SHELL + "/CommandResponse", message_id, body)
        if action == SHELL + "/Receive":
            # [MS-WSMV] 3.1.4.14: all of the output at once, then CommandState Done (2.2.4.9).
            stream = root.find("s:Body/rsp:Receive/rsp:DesiredStream", NS)
            command_id = stream.get("CommandId") if stream is not None else None
            if command_id not in commands:
                return fault(message_id, "InvalidSelectors", f"no command {command_id}", INVALID_SELECTORS)
            stdout, code = commands[command_id]
            out = base64.b64encode(stdout).decode()
            cid = f'CommandId="{command_id}"'
            body = (
                f'<rsp:ReceiveResponse><rsp:Stream Name="stdout" {cid}>{out}</rsp:Stream>'
                f'<rsp:Stream Name="stdout" {cid} End="true"></rsp:Stream>'
                f'<rsp:Stream Name="stderr" {cid} End="true"></rsp:Stream>'
                f'<rsp:CommandState {cid} State="{DONE}"><rsp:ExitCode>{code}</rsp:ExitCode>'
                f"</rsp:CommandState></rsp:ReceiveResponse>"
            )
            return 200, envelope(SHELL + "/ReceiveResponse", message_id, body)
        if action == SHELL + "/Signal":
            # [MS-WSMV] 3.1.4.12: terminate releases the command.
            command_id = root.find("s:Body/rsp:Signal", NS).get("CommandId")
            if commands.pop(command_id, None) is None:
                return fault(message_id, "InvalidSelectors", f"no command {command_id}", INVALID_SELECTORS)
            return 200, envelope(SHELL + "/SignalResponse", message_id, "<rsp:SignalResponse/>")
    return fault(message_id, "ActionNotSupported", f"unsupported action {action}")


# ------------------------------------------------------------------ HTTP


class Handler(http.server.BaseHTTPRequestHandler):
    """One instance per TCP connection: the NTLM context lives as long as the connection."""

    protocol_version = "HTTP/1.1"  # keep-alive: NTLM authenticates the connection
    ctx = None  # pyspnego's acceptor context, once a NEGOTIATE came

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass  # stdout is the test's log; the HTTP access log is noise there

    def reply(self, status, body=b"", content_type=None, authenticate=None):
        self.send_response(status)
        if authenticate is not None:
            self.send_header("WWW-Authenticate", authenticate)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def drop(self):
        """Close the connection without an answer."""
        self.close_connection = True

    def forged(self, xml_text):
        """An answer in clear with HTTP 500, as a forger on the path would send it."""
        self.reply(500, xml_text.encode("utf-8"), "application/soap+xml;charset=UTF-8")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.lower() != "/wsman":
            self.reply(404)
            return
        if Drop.now_dropping(False):
            self.drop()
            return
        if MODE == "impostor":
            self.impostor()
            return
        authorization = self.headers.get("Authorization")
        if authorization:
            scheme, _, b64 = authorization.partition(" ")
            if scheme.lower() not in ("negotiate", "ntlm") or not b64.strip():
                self.reply(401, authenticate="Negotiate")
                return
            if self.ctx is None or self.ctx.complete:
                # A NEGOTIATE: a new context, even on a connection that had one.
                self.ctx = acceptor()
            try:
                out = self.ctx.step(base64.b64decode(b64.strip()))
            except Exception as e:  # pyspnego's refusal, or a token it cannot parse
                say(f"auth refused {e}")
                self.ctx = None
                self.reply(401, authenticate="Negotiate")
                return
            if not self.ctx.complete:
                # The CHALLENGE, under the scheme the client used (RFC 4559 section 5).
                self.reply(401, authenticate=f"{scheme} {base64.b64encode(out).decode()}")
                return
            say(f"auth ok {self.ctx.client_principal}")
            if not body:
                self.reply(200)
                return
        elif self.ctx is None or not self.ctx.complete:
            self.reply(401, authenticate="Negotiate")
            return
        if TLS:
            self.serve_plain(body)
        else:
            self.serve_encrypted(body)

    impostor_answers = 0

    def impostor(self):
        """ACCEPTOR_MODE=impostor: a host that never knew the password."""
        authorization = self.headers.get("Authorization")
        if authorization:
            scheme, _, b64 = authorization.partition(" ")
            if self.ctx is None:
                self.ctx = spnego.server(protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)
                out = self.ctx.step(base64.b64decode(b64.strip()))
                self.reply(401, authenticate=f"{scheme} {base64.b64encode(out).decode()}")
            else:
                say("auth faked")
                self.faked = True
                self.reply(200)
            return
        if not getattr(self, "faked", False):
            self.reply(401, authenticate="Negotiate")
            return
        n = Handler.impostor_answers
        Handler.impostor_answers += 1
        shell = "11111111-1111-1111-1111-111111111111"
        cid = 'CommandId="22222222-2222-2222-2222-222222222222"'
        bodies = [
            (TRANSFER + "/CreateResponse", f"<rsp:Shell><rsp:ShellId>{shell}</rsp:ShellId></rsp:Shell>"),
            (SHELL + "/CommandResponse", "<rsp:CommandResponse><rsp:CommandId>22222222-2222-2222-2222-222222222222</rsp:CommandId></rsp:CommandResponse>"),
            (
                SHELL + "/ReceiveResponse",
                f'<rsp:ReceiveResponse><rsp:Stream Name="stdout" {cid}>{FORGED}</rsp:Stream>'
                f'<rsp:CommandState {cid} State="{DONE}"><rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>',
            ),
            (SHELL + "/SignalResponse", "<rsp:SignalResponse/>"),
            (TRANSFER + "/DeleteResponse", ""),
        ]
        action, body = bodies[min(n, len(bodies) - 1)]
        say(f"forged {action}")
        self.forged(envelope(action, "uuid:0", body))

    def serve_plain(self, body):
        """Over HTTPS: the envelope in clear, the answer in clear."""
        try:
            status, xml_answer = answer(body.decode("utf-8"), "received")
        except Exception as e:  # XML, anything: log it
            say(f"error {type(e).__name__}: {e}")
            self.reply(400)
            return
        self.reply(status, xml_answer.encode("utf-8"), "application/soap+xml;charset=UTF-8")

    def serve_encrypted(self, body):
        content_type = self.headers.get("Content-Type", "")
        try:
            if not (
                content_type.lower().startswith("multipart/encrypted")
                and f'protocol="{PROTOCOL}"'.lower() in content_type.lower()
                and 'boundary="encrypted boundary"' in content_type.lower()
            ):
                raise Refused(f"the request is not encrypted (Content-Type {content_type!r})")
            plain = b""
            for signature, sealed, length in unframe(body):
                # pyspnego checks the signature (checksum and sequence number) and decrypts.
                part = self.ctx.unwrap_winrm(signature, sealed)
                if len(part) != length:
                    raise Refused(f"Length={length} but {len(part)} bytes decrypted")
                plain += part
            xml_text = plain.decode("utf-8")
            is_receive = text(ET.fromstring(xml_text), "s:Header/a:Action") == SHELL + "/Receive"
            if Drop.now_dropping(is_receive):
                self.drop()
                return
            status, xml_answer = answer(xml_text)
        except Exception as e:  # Refused, pyspnego's signature check, XML, anything: log it
            say(f"error {type(e).__name__}: {e}")
            # A bare 400: the test reads the reason from the log.
            self.reply(400)
            return
        if MODE == "plain-fault":
            say("answered in clear: fault")
            _, xml_fault = fault("uuid:0", "AccessDenied", "forged fault: Access is denied.", 5)
            self.forged(xml_fault)
            return
        if MODE == "plain-receive" and "ReceiveResponse" in xml_answer:
            say("answered in clear: Receive")
            forged = re.sub(r'(<rsp:Stream Name="stdout" [^>]*>)[^<]*(</rsp:Stream>)', lambda m: m.group(1) + FORGED + m.group(2), xml_answer, count=1)
            self.forged(forged)
            return
        self.reply(status, frame(self.ctx, xml_answer.encode("utf-8")), CONTENT_TYPE)


def main():
    store = os.environ.get("NTLM_USER_FILE")
    if not store or not os.path.isfile(store):
        print(f"NTLM_USER_FILE must name a DOMAIN:USER:PASSWORD file (it is {store!r})", file=sys.stderr)
        sys.exit(1)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if TLS:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(os.environ["ACCEPTOR_TLS_CERT"], os.environ["ACCEPTOR_TLS_KEY"])
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    say(f"listening 127.0.0.1:{server.server_address[1]}")
    # Serve until the test closes our stdin (or dies, which closes it too).
    sys.stdin.buffer.read()
    os._exit(0)


if __name__ == "__main__":
    main()
