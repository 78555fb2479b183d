// The engine's one error table (STYLE.md practice 5).
//
// Every failure the engine can report has a code here. The RFC 6455 close code that goes with it
// is derived from the range the code sits in (see errCloseCode), and the short message is the
// comment after the code: scripts/build.ts reads the lines between the two markers and writes
// them into component/generated/ws_engine_abi.h, so C gets the same codes, close codes and
// messages without asking the engine. Keep one entry per line, in the form
//   NAME = number, // message
// Codes are stable: add new ones, never renumber.
//
// Ranges (the close code the engine sends when it fails the connection with that error):
//    1..19  URI parsing                                   no close frame (not connected)
//   20..39  opening handshake, request and response       no close frame (not a WebSocket yet)
//   40..59  protocol violations by the server             1002 Protocol error
//   60..64  invalid UTF-8 from the server                 1007 Invalid frame payload data
//   65..69  size limits                                   1009 Message too big
//   70..79  timers                                        no close frame (the peer is gone)
//   80..99  misuse of the ABI or of a send                returned as a negative value, no event

// @error-table-begin
export const enum Err {
  OK = 0, // no error
  URI_EMPTY = 1, // URI is empty
  URI_SCHEME = 2, // URI scheme is not ws:// or wss://
  URI_HOST = 3, // URI host is missing or malformed
  URI_PORT = 4, // URI port is not a number in 1-65535
  URI_FRAGMENT = 5, // URI has a fragment (#), which RFC 6455 section 3 forbids
  URI_CHAR = 6, // URI contains a space or a control character
  URI_TOO_LONG = 7, // URI is longer than the engine's scratch area
  URI_USERINFO = 8, // URI userinfo is malformed
  REQ_HOST = 20, // host contains a space, CR, LF or another control character
  REQ_PATH = 21, // path contains a space, CR, LF or another control character
  REQ_PROTOCOL = 22, // subprotocol is not a comma-separated list of tokens
  REQ_USER_AGENT = 23, // user agent contains CR, LF or another control character
  REQ_HEADER = 24, // extra header is malformed: a token name, a colon, no CR or LF inside
  REQ_TOO_LARGE = 25, // handshake request or its inputs do not fit in the buffers
  RESP_STATUS_LINE = 26, // response status line is malformed
  RESP_STATUS = 27, // server answered with a status other than 101
  RESP_REDIRECT = 28, // server answered with a redirect (3xx)
  RESP_UPGRADE = 29, // response lacks Upgrade: websocket
  RESP_CONNECTION = 30, // response lacks Connection: Upgrade
  RESP_ACCEPT_MISSING = 31, // response lacks Sec-WebSocket-Accept
  RESP_ACCEPT = 32, // Sec-WebSocket-Accept does not match the key sent
  RESP_PROTOCOL = 33, // server chose a subprotocol that was not offered
  RESP_EXTENSION = 34, // server chose an extension that was not offered
  RESP_TOO_LARGE = 35, // response headers exceed the header-size limit
  RESP_LINE_TOO_LONG = 36, // a response header line does not fit in the rx buffer
  RESP_HEADER = 37, // response header line is malformed
  RSV = 40, // RSV bit set without a negotiated extension
  OPCODE = 41, // frame uses a reserved opcode
  MASKED = 42, // server frame is masked
  CTRL_TOO_LONG = 43, // control frame payload is over 125 bytes
  CTRL_FRAGMENTED = 44, // control frame is fragmented (FIN not set)
  LEN_NOT_MINIMAL = 45, // payload length is not minimally encoded
  LEN_TOP_BIT = 46, // 64-bit payload length has its most significant bit set
  CONT_NO_MSG = 47, // continuation frame with no message in progress
  DATA_IN_MSG = 48, // new data frame inside a fragmented message
  CLOSE_1BYTE = 49, // close frame with a 1-byte payload
  CLOSE_CODE = 50, // close frame with a status code that may not be sent
  UTF8 = 60, // invalid UTF-8 in a text message
  CLOSE_UTF8 = 61, // invalid UTF-8 in a close reason
  FRAME_TOO_BIG = 65, // frame exceeds the maximum frame size
  MSG_TOO_BIG = 66, // message exceeds the maximum message size
  PONG_TIMEOUT = 70, // no PONG arrived within the pong timeout
  CLOSE_TIMEOUT = 71, // server did not complete the close handshake in time
  BAD_SLOT = 80, // no such connection slot
  NOT_INIT = 81, // engine is not initialised
  BAD_ARG = 82, // invalid argument
  NO_MEMORY = 83, // linear memory cannot hold the requested layout
  NOT_OPEN = 84, // connection is not open
  CLOSE_SENT = 85, // a close frame was already sent
  SEND_CONT_NO_MSG = 86, // continuation sent with no fragmented message in progress
  SEND_MSG_OPEN = 87, // new message started while a fragmented one is in progress
  SEND_CTRL_TOO_LONG = 88, // control frame payload is over 125 bytes
  SEND_OPCODE = 89, // opcode is reserved or control frame not final
  SEND_CLOSE_CODE = 90, // close code may not be sent, or close payload of 1 byte
  SEND_UTF8 = 91, // text is not valid UTF-8 (strict UTF-8 policy)
  SEND_TOO_LONG = 92, // payload is larger than the tx buffer
  BAD_STATE = 93, // call is not valid in the connection's current state
  BAD_PARAM = 94, // unknown configuration parameter or value out of range
}
// @error-table-end

/** The RFC 6455 close code sent when the connection fails with `e`, or 0 for none (§7.4.1). */
export function errCloseCode(e: i32): i32 {
  if (e >= 40 && e < 60) return 1002;
  if (e >= 60 && e < 65) return 1007;
  if (e >= 65 && e < 70) return 1009;
  return 0;
}
