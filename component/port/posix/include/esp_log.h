/*
 * esp_log.h - host stand-in for ESP-IDF logging, printing the ESP-IDF line format to stdout:
 *     I (1234) TAG: message
 * where 1234 is milliseconds since the process started. Colours (E red, W yellow, I green) are
 * used only when stdout is a terminal. The run-time level defaults to INFO; esp_log_level_set()
 * changes it per tag or for "*" (all tags).
 */
#ifndef __ESP_LOG_H__
#define __ESP_LOG_H__

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ESP_LOG_NONE = 0,
    ESP_LOG_ERROR,
    ESP_LOG_WARN,
    ESP_LOG_INFO,
    ESP_LOG_DEBUG,
    ESP_LOG_VERBOSE,
    ESP_LOG_MAX
} esp_log_level_t;

/* Compile-time ceiling for this translation unit (as on ESP-IDF). */
#ifndef LOG_LOCAL_LEVEL
#define LOG_LOCAL_LEVEL ESP_LOG_VERBOSE
#endif

/* Sets the run-time level of `tag`; "*" sets the default for every tag and clears per-tag levels
 * set earlier. */
void esp_log_level_set(const char *tag, esp_log_level_t level);

/* The run-time level that applies to `tag`. */
esp_log_level_t esp_log_level_get(const char *tag);

/* Milliseconds since the process started. */
uint32_t esp_log_timestamp(void);

/* Writes one already formatted log message if `level` is enabled for `tag` (no newline added). */
void esp_log_write(esp_log_level_t level, const char *tag, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
void esp_log_writev(esp_log_level_t level, const char *tag, const char *format, va_list args);

/* One formatted line: prefix, message, newline, colour reset; written atomically. */
void esp_log_host_line(esp_log_level_t level, const char *tag, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

void esp_log_buffer_hex_internal(const char *tag, const void *buffer, uint16_t buff_len, esp_log_level_t level);
void esp_log_buffer_char_internal(const char *tag, const void *buffer, uint16_t buff_len, esp_log_level_t level);
void esp_log_buffer_hexdump_internal(const char *tag, const void *buffer, uint16_t buff_len, esp_log_level_t level);

#define ESP_LOG_LEVEL(level, tag, format, ...) \
    esp_log_host_line(level, tag, format, ##__VA_ARGS__)

#define ESP_LOG_LEVEL_LOCAL(level, tag, format, ...) do {                     \
        if (LOG_LOCAL_LEVEL >= (level)) {                                     \
            ESP_LOG_LEVEL(level, tag, format, ##__VA_ARGS__);                 \
        }                                                                     \
    } while (0)

#define ESP_LOGE(tag, format, ...) ESP_LOG_LEVEL_LOCAL(ESP_LOG_ERROR,   tag, format, ##__VA_ARGS__)
#define ESP_LOGW(tag, format, ...) ESP_LOG_LEVEL_LOCAL(ESP_LOG_WARN,    tag, format, ##__VA_ARGS__)
#define ESP_LOGI(tag, format, ...) ESP_LOG_LEVEL_LOCAL(ESP_LOG_INFO,    tag, format, ##__VA_ARGS__)
#define ESP_LOGD(tag, format, ...) ESP_LOG_LEVEL_LOCAL(ESP_LOG_DEBUG,   tag, format, ##__VA_ARGS__)
#define ESP_LOGV(tag, format, ...) ESP_LOG_LEVEL_LOCAL(ESP_LOG_VERBOSE, tag, format, ##__VA_ARGS__)

#define ESP_EARLY_LOGE ESP_LOGE
#define ESP_EARLY_LOGW ESP_LOGW
#define ESP_EARLY_LOGI ESP_LOGI
#define ESP_EARLY_LOGD ESP_LOGD
#define ESP_EARLY_LOGV ESP_LOGV
#define ESP_DRAM_LOGE  ESP_LOGE
#define ESP_DRAM_LOGW  ESP_LOGW
#define ESP_DRAM_LOGI  ESP_LOGI
#define ESP_DRAM_LOGD  ESP_LOGD
#define ESP_DRAM_LOGV  ESP_LOGV

/* Hex / character dumps: 16 bytes per line, as on ESP-IDF. */
#define ESP_LOG_BUFFER_HEX_LEVEL(tag, buffer, buff_len, level) do {           \
        if (LOG_LOCAL_LEVEL >= (level)) {                                     \
            esp_log_buffer_hex_internal(tag, buffer, buff_len, level);        \
        }                                                                     \
    } while (0)
#define ESP_LOG_BUFFER_CHAR_LEVEL(tag, buffer, buff_len, level) do {          \
        if (LOG_LOCAL_LEVEL >= (level)) {                                     \
            esp_log_buffer_char_internal(tag, buffer, buff_len, level);       \
        }                                                                     \
    } while (0)
#define ESP_LOG_BUFFER_HEXDUMP(tag, buffer, buff_len, level) do {             \
        if (LOG_LOCAL_LEVEL >= (level)) {                                     \
            esp_log_buffer_hexdump_internal(tag, buffer, buff_len, level);    \
        }                                                                     \
    } while (0)
#define ESP_LOG_BUFFER_HEX(tag, buffer, buff_len)  ESP_LOG_BUFFER_HEX_LEVEL(tag, buffer, buff_len, ESP_LOG_INFO)
#define ESP_LOG_BUFFER_CHAR(tag, buffer, buff_len) ESP_LOG_BUFFER_CHAR_LEVEL(tag, buffer, buff_len, ESP_LOG_INFO)
#define esp_log_buffer_hex(tag, buffer, buff_len)  ESP_LOG_BUFFER_HEX(tag, buffer, buff_len)
#define esp_log_buffer_char(tag, buffer, buff_len) ESP_LOG_BUFFER_CHAR(tag, buffer, buff_len)

#ifdef __cplusplus
}
#endif

#endif /* __ESP_LOG_H__ */
