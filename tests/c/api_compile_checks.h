/*
 * api_compile_checks.h - compile-time checks of esp_websocket_client.h against esp_websocket_client
 * 1.8.0 (reference a.1-a.4) that hold for BOTH event numberings. Included by test_api_compile.c
 * (host numbering, ESP-IDF 5.5) and api_compile_idf6.c (built with WS_HOST_IDF_VERSION_MAJOR=6).
 * Nothing here is evaluated at run time: types are compared with _Generic, order with offsetof.
 */
#ifndef API_COMPILE_CHECKS_H
#define API_COMPILE_CHECKS_H

#include <stddef.h>
#include "esp_websocket_client.h"

#define IS_TYPE(expr, T) _Generic((expr), T: 1, default: 0)
#define FIELD(S, f) (((S *)0)->f)
#define FIELD_IS(S, f, T) _Static_assert(IS_TYPE(FIELD(S, f), T), #S "." #f " has type " #T)
#define BEFORE(S, a, b) _Static_assert(offsetof(S, a) < offsetof(S, b), #S ": " #a " comes before " #b)
#define FUNC_IS(fn, T) _Static_assert(IS_TYPE(&fn, T), #fn " has the 1.8.0 signature")

typedef esp_websocket_client_config_t cfg_t;
typedef esp_err_t (*crt_bundle_fn_t)(void *conf);
typedef void (*header_cb_fn_t)(void *ctx, const char *line, int len);

/* -- config: every 1.8.0 field, its type, and its place -------------------------------------- */
FIELD_IS(cfg_t, uri, const char *);
FIELD_IS(cfg_t, host, const char *);
FIELD_IS(cfg_t, port, int);
FIELD_IS(cfg_t, username, const char *);
FIELD_IS(cfg_t, password, const char *);
FIELD_IS(cfg_t, path, const char *);
FIELD_IS(cfg_t, disable_auto_reconnect, bool);
FIELD_IS(cfg_t, enable_close_reconnect, bool);
FIELD_IS(cfg_t, user_context, void *);
FIELD_IS(cfg_t, task_core_id_set, bool);
FIELD_IS(cfg_t, task_core_id, int);
FIELD_IS(cfg_t, task_prio, int);
FIELD_IS(cfg_t, task_name, const char *);
FIELD_IS(cfg_t, task_stack, int);
FIELD_IS(cfg_t, buffer_size, int);
FIELD_IS(cfg_t, cert_pem, const char *);
FIELD_IS(cfg_t, cert_len, size_t);
FIELD_IS(cfg_t, client_cert, const char *);
FIELD_IS(cfg_t, client_cert_len, size_t);
FIELD_IS(cfg_t, client_key, const char *);
FIELD_IS(cfg_t, client_key_len, size_t);
FIELD_IS(cfg_t, transport, esp_websocket_transport_t);
FIELD_IS(cfg_t, subprotocol, const char *);
FIELD_IS(cfg_t, user_agent, const char *);
FIELD_IS(cfg_t, headers, const char *);
FIELD_IS(cfg_t, pingpong_timeout_sec, int);
FIELD_IS(cfg_t, disable_pingpong_discon, bool);
FIELD_IS(cfg_t, use_global_ca_store, bool);
FIELD_IS(cfg_t, crt_bundle_attach, crt_bundle_fn_t);
FIELD_IS(cfg_t, cert_common_name, const char *);
FIELD_IS(cfg_t, skip_cert_common_name_check, bool);
FIELD_IS(cfg_t, keep_alive_enable, bool);
FIELD_IS(cfg_t, keep_alive_idle, int);
FIELD_IS(cfg_t, keep_alive_interval, int);
FIELD_IS(cfg_t, keep_alive_count, int);
FIELD_IS(cfg_t, reconnect_timeout_ms, int);
FIELD_IS(cfg_t, network_timeout_ms, int);
FIELD_IS(cfg_t, ping_interval_sec, size_t);
FIELD_IS(cfg_t, if_name, struct ifreq *);
FIELD_IS(cfg_t, ext_transport, esp_transport_handle_t);

BEFORE(cfg_t, uri, host);
BEFORE(cfg_t, host, port);
BEFORE(cfg_t, port, username);
BEFORE(cfg_t, username, password);
BEFORE(cfg_t, password, path);
BEFORE(cfg_t, path, disable_auto_reconnect);
BEFORE(cfg_t, disable_auto_reconnect, enable_close_reconnect);
BEFORE(cfg_t, enable_close_reconnect, user_context);
BEFORE(cfg_t, user_context, task_core_id_set);
BEFORE(cfg_t, task_core_id_set, task_core_id);
BEFORE(cfg_t, task_core_id, task_prio);
BEFORE(cfg_t, task_prio, task_name);
BEFORE(cfg_t, task_name, task_stack);
BEFORE(cfg_t, task_stack, buffer_size);
BEFORE(cfg_t, buffer_size, cert_pem);
BEFORE(cfg_t, cert_pem, cert_len);
BEFORE(cfg_t, cert_len, client_cert);
BEFORE(cfg_t, client_cert, client_cert_len);
BEFORE(cfg_t, client_cert_len, client_key);
BEFORE(cfg_t, client_key, client_key_len);
BEFORE(cfg_t, client_key_len, transport);
BEFORE(cfg_t, transport, subprotocol);
BEFORE(cfg_t, subprotocol, user_agent);
BEFORE(cfg_t, user_agent, headers);
BEFORE(cfg_t, headers, pingpong_timeout_sec);
BEFORE(cfg_t, pingpong_timeout_sec, disable_pingpong_discon);
BEFORE(cfg_t, disable_pingpong_discon, use_global_ca_store);
BEFORE(cfg_t, use_global_ca_store, crt_bundle_attach);
BEFORE(cfg_t, crt_bundle_attach, cert_common_name);
BEFORE(cfg_t, cert_common_name, skip_cert_common_name_check);
BEFORE(cfg_t, skip_cert_common_name_check, keep_alive_enable);
BEFORE(cfg_t, keep_alive_enable, keep_alive_idle);
BEFORE(cfg_t, keep_alive_idle, keep_alive_interval);
BEFORE(cfg_t, keep_alive_interval, keep_alive_count);
BEFORE(cfg_t, keep_alive_count, reconnect_timeout_ms);
BEFORE(cfg_t, reconnect_timeout_ms, network_timeout_ms);
BEFORE(cfg_t, network_timeout_ms, ping_interval_sec);
BEFORE(cfg_t, ping_interval_sec, if_name);
BEFORE(cfg_t, if_name, ext_transport);

/* Without CONFIG_ESP_TLS_USE_DS_PERIPHERAL, client_key_len is directly followed by transport:
 * nothing (no client_ds_data) sits between them beyond alignment padding. */
#if !CONFIG_ESP_TLS_USE_DS_PERIPHERAL
_Static_assert(offsetof(cfg_t, transport) - offsetof(cfg_t, client_key_len) == sizeof(size_t),
               "client_ds_data exists only with CONFIG_ESP_TLS_USE_DS_PERIPHERAL");
#endif

/* -- our fields: after every 1.8.0 field, in this order -------------------------------------- */
FIELD_IS(cfg_t, header_cb, header_cb_fn_t);
FIELD_IS(cfg_t, header_cb_ctx, void *);
FIELD_IS(cfg_t, reconnect_backoff, esp_websocket_reconnect_backoff_t);
FIELD_IS(cfg_t, reconnect_backoff_max_ms, int);
FIELD_IS(cfg_t, max_redirects, int);
FIELD_IS(cfg_t, utf8_policy, esp_websocket_utf8_policy_t);
FIELD_IS(cfg_t, max_message_len, int);
FIELD_IS(cfg_t, max_frame_len, int);
FIELD_IS(cfg_t, close_timeout_ms, int);
FIELD_IS(cfg_t, response_header_limit, int);
BEFORE(cfg_t, ext_transport, header_cb);
BEFORE(cfg_t, header_cb, header_cb_ctx);
BEFORE(cfg_t, header_cb_ctx, reconnect_backoff);
BEFORE(cfg_t, reconnect_backoff, reconnect_backoff_max_ms);
BEFORE(cfg_t, reconnect_backoff_max_ms, max_redirects);
BEFORE(cfg_t, max_redirects, utf8_policy);
BEFORE(cfg_t, utf8_policy, max_message_len);
BEFORE(cfg_t, max_message_len, max_frame_len);
BEFORE(cfg_t, max_frame_len, close_timeout_ms);
BEFORE(cfg_t, close_timeout_ms, response_header_limit);
BEFORE(cfg_t, response_header_limit, skip_server_cert_verify);
FIELD_IS(cfg_t, skip_server_cert_verify, bool);
BEFORE(cfg_t, skip_server_cert_verify, reassemble_messages);
FIELD_IS(cfg_t, reassemble_messages, esp_websocket_reassembly_t);
_Static_assert(offsetof(cfg_t, reassemble_messages) + sizeof(esp_websocket_reassembly_t) <= sizeof(cfg_t) &&
               sizeof(cfg_t) - (offsetof(cfg_t, reassemble_messages) + sizeof(esp_websocket_reassembly_t)) <
                   sizeof(void *),
               "reassemble_messages is the last field");

/* The three-valued options: 0 is DEFAULT (the Kconfig choice), so a zero-initialised config
 * takes Kconfig; ENABLED is 1, so `= true` written when these fields were bools keeps its meaning.
 * The utf8_policy values are ABI too (an application may store them). */
_Static_assert(WEBSOCKET_REASSEMBLY_DEFAULT == 0 && WEBSOCKET_REASSEMBLY_ENABLED == 1 &&
               WEBSOCKET_REASSEMBLY_DISABLED == 2 && WEBSOCKET_REASSEMBLY_ENABLED == true,
               "esp_websocket_reassembly_t: DEFAULT 0, ENABLED 1 (= true), DISABLED 2");
_Static_assert(WEBSOCKET_RECONNECT_BACKOFF_DEFAULT == 0 && WEBSOCKET_RECONNECT_BACKOFF_ENABLED == 1 &&
               WEBSOCKET_RECONNECT_BACKOFF_DISABLED == 2 && WEBSOCKET_RECONNECT_BACKOFF_ENABLED == true,
               "esp_websocket_reconnect_backoff_t: DEFAULT 0, ENABLED 1 (= true), DISABLED 2");
_Static_assert(WEBSOCKET_UTF8_POLICY_DEFAULT == 0 && WEBSOCKET_UTF8_POLICY_NONE == 1 &&
               WEBSOCKET_UTF8_POLICY_VALIDATE_RX == 2 && WEBSOCKET_UTF8_POLICY_VALIDATE_RX_TX == 3,
               "esp_websocket_utf8_policy_t: DEFAULT 0, NONE 1, VALIDATE_RX 2, VALIDATE_RX_TX 3");
/* C code that assigned bools still compiles (a designated initialiser with `true`). */
static const cfg_t bool_style_config __attribute__((unused)) = { .reconnect_backoff = true,
                                                                 .reassemble_messages = true };

/* -- event data and error codes ------------------------------------------------------------- */
typedef esp_websocket_event_data_t ev_t;
FIELD_IS(ev_t, data_ptr, const char *);
FIELD_IS(ev_t, data_len, int);
FIELD_IS(ev_t, fin, bool);
FIELD_IS(ev_t, op_code, uint8_t);
FIELD_IS(ev_t, client, esp_websocket_client_handle_t);
FIELD_IS(ev_t, user_context, void *);
FIELD_IS(ev_t, payload_len, int);
FIELD_IS(ev_t, payload_offset, int);
FIELD_IS(ev_t, error_handle, esp_websocket_error_codes_t);
FIELD_IS(ev_t, close_status_code, int);
BEFORE(ev_t, data_ptr, data_len);
BEFORE(ev_t, data_len, fin);
BEFORE(ev_t, fin, op_code);
BEFORE(ev_t, op_code, client);
BEFORE(ev_t, client, user_context);
BEFORE(ev_t, user_context, payload_len);
BEFORE(ev_t, payload_len, payload_offset);
BEFORE(ev_t, payload_offset, error_handle);
BEFORE(ev_t, error_handle, close_status_code);
_Static_assert(offsetof(ev_t, data_ptr) == 0, "data_ptr first");
_Static_assert(offsetof(ev_t, fin) == offsetof(ev_t, data_len) + sizeof(int), "fin right after data_len");
_Static_assert(offsetof(ev_t, op_code) == offsetof(ev_t, fin) + 1, "op_code right after fin");

typedef esp_websocket_error_codes_t errc_t;
FIELD_IS(errc_t, esp_tls_last_esp_err, esp_err_t);
FIELD_IS(errc_t, esp_tls_stack_err, int);
FIELD_IS(errc_t, esp_tls_cert_verify_flags, int);
FIELD_IS(errc_t, error_type, esp_websocket_error_type_t);
FIELD_IS(errc_t, esp_ws_handshake_status_code, int);
FIELD_IS(errc_t, esp_transport_sock_errno, int);
/* The first three mirror struct esp_tls_last_error {esp_err_t; int; int;} with no padding. */
_Static_assert(offsetof(errc_t, esp_tls_last_esp_err) == 0 &&
               offsetof(errc_t, esp_tls_stack_err) == sizeof(esp_err_t) &&
               offsetof(errc_t, esp_tls_cert_verify_flags) == sizeof(esp_err_t) + sizeof(int),
               "error_handle starts like struct esp_tls_last_error");
BEFORE(errc_t, esp_tls_cert_verify_flags, error_type);
BEFORE(errc_t, error_type, esp_ws_handshake_status_code);
BEFORE(errc_t, esp_ws_handshake_status_code, esp_transport_sock_errno);

/* -- enums ----------------------------------------------------------------------------------- */
_Static_assert(WEBSOCKET_TRANSPORT_UNKNOWN == 0 && WEBSOCKET_TRANSPORT_OVER_TCP == 1 &&
               WEBSOCKET_TRANSPORT_OVER_SSL == 2, "esp_websocket_transport_t values");
_Static_assert(WEBSOCKET_ERROR_TYPE_NONE == 0 && WEBSOCKET_ERROR_TYPE_TCP_TRANSPORT == 1 &&
               WEBSOCKET_ERROR_TYPE_PONG_TIMEOUT == 2 && WEBSOCKET_ERROR_TYPE_HANDSHAKE == 3 &&
               WEBSOCKET_ERROR_TYPE_SERVER_CLOSE == 4, "esp_websocket_error_type_t values");
_Static_assert(WS_TRANSPORT_OPCODES_CONT == 0x00 && WS_TRANSPORT_OPCODES_TEXT == 0x01 &&
               WS_TRANSPORT_OPCODES_BINARY == 0x02 && WS_TRANSPORT_OPCODES_CLOSE == 0x08 &&
               WS_TRANSPORT_OPCODES_PING == 0x09 && WS_TRANSPORT_OPCODES_PONG == 0x0a &&
               WS_TRANSPORT_OPCODES_FIN == 0x80 && WS_TRANSPORT_OPCODES_NONE == 0x100,
               "ws_transport_opcodes_t values");
_Static_assert(WEBSOCKET_EVENT_ANY == -1 && WEBSOCKET_EVENT_ERROR == 0, "ANY and ERROR");

/* -- functions: exact 1.8.0 signatures (address taken in _Generic: not evaluated, not linked) -- */
typedef esp_websocket_client_handle_t handle_t;
FUNC_IS(esp_websocket_client_init, handle_t (*)(const esp_websocket_client_config_t *));
FUNC_IS(esp_websocket_client_set_uri, esp_err_t (*)(handle_t, const char *));
FUNC_IS(esp_websocket_client_set_headers, esp_err_t (*)(handle_t, const char *));
FUNC_IS(esp_websocket_client_append_header, esp_err_t (*)(handle_t, const char *, const char *));
FUNC_IS(esp_websocket_client_start, esp_err_t (*)(handle_t));
FUNC_IS(esp_websocket_client_stop, esp_err_t (*)(handle_t));
FUNC_IS(esp_websocket_client_destroy, esp_err_t (*)(handle_t));
FUNC_IS(esp_websocket_client_destroy_on_exit, esp_err_t (*)(handle_t));
FUNC_IS(esp_websocket_client_send_bin, int (*)(handle_t, const char *, int, TickType_t));
FUNC_IS(esp_websocket_client_send_bin_partial, int (*)(handle_t, const char *, int, TickType_t));
FUNC_IS(esp_websocket_client_send_text, int (*)(handle_t, const char *, int, TickType_t));
FUNC_IS(esp_websocket_client_send_text_partial, int (*)(handle_t, const char *, int, TickType_t));
FUNC_IS(esp_websocket_client_send_cont_msg, int (*)(handle_t, const char *, int, TickType_t));
FUNC_IS(esp_websocket_client_send_fin, int (*)(handle_t, TickType_t));
FUNC_IS(esp_websocket_client_send_with_opcode, int (*)(handle_t, ws_transport_opcodes_t, const uint8_t *, int, TickType_t));
FUNC_IS(esp_websocket_client_close, esp_err_t (*)(handle_t, TickType_t));
FUNC_IS(esp_websocket_client_close_with_code, esp_err_t (*)(handle_t, int, const char *, int, TickType_t));
FUNC_IS(esp_websocket_client_is_connected, bool (*)(handle_t));
FUNC_IS(esp_websocket_client_get_ping_interval_sec, size_t (*)(handle_t));
FUNC_IS(esp_websocket_client_set_ping_interval_sec, esp_err_t (*)(handle_t, size_t));
FUNC_IS(esp_websocket_client_get_reconnect_timeout, int (*)(handle_t));
FUNC_IS(esp_websocket_client_set_reconnect_timeout, esp_err_t (*)(handle_t, int));
FUNC_IS(esp_websocket_register_events, esp_err_t (*)(handle_t, esp_websocket_event_id_t, esp_event_handler_t, void *));
FUNC_IS(esp_websocket_unregister_events, esp_err_t (*)(handle_t, esp_websocket_event_id_t, esp_event_handler_t));

#endif /* API_COMPILE_CHECKS_H */
