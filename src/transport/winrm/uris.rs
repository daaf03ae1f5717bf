//! The fixed URIs of WS-Management and the WinRS shell protocol ([MS-WSMV]). Responses are
//! matched on these namespace URIs, never on prefixes: Windows writes `s:`/`a:`/`w:`, other
//! servers pick their own.

/// SOAP 1.2 envelope.
pub const NS_SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
/// WS-Addressing (the 2004/08 draft WS-Management uses).
pub const NS_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// DMTF WS-Management.
pub const NS_WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
/// Microsoft's WS-Management extensions (DataLocale, SessionId).
pub const NS_MS_WSMAN: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
/// WinRS: Shell, CommandLine, Receive, Send, Signal.
pub const NS_SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
/// WS-Transfer (Create, Get, Delete).
pub const NS_TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
/// The `WSManFault` detail Windows puts in every fault.
pub const NS_WSMAN_FAULT: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";
/// The WinRM service configuration (`winrm get winrm/config`).
pub const NS_CONFIG: &str = "http://schemas.microsoft.com/wbem/wsman/1/config";

pub const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

/// Resource URI of the cmd.exe-backed WinRS shell.
pub const RESOURCE_CMD_SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";
/// Resource URI of the service configuration.
pub const RESOURCE_CONFIG: &str = "http://schemas.microsoft.com/wbem/wsman/1/config";

pub const ACTION_CREATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
pub const ACTION_GET: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
pub const ACTION_DELETE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
pub const ACTION_COMMAND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command";
pub const ACTION_SEND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send";
pub const ACTION_RECEIVE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive";
pub const ACTION_SIGNAL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal";

/// `CommandState` of a command that has exited; its `ExitCode` is then present.
pub const STATE_DONE: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done";

/// The WSManFault code of "the operation did not finish within OperationTimeout"
/// (ERROR_WSMAN_OPERATION_TIMEDOUT, 0x80338029). For Receive it only means "poll again"
/// (pypsrp `Process.poll_invoke`, pywinrm `Protocol.get_command_output`).
pub const WSMAN_CODE_TIMED_OUT: u32 = 2_150_858_793;
