/*
 * esp_log_host.c - ESP-IDF style logging for the host build (see esp_log.h for the format).
 */
#define _GNU_SOURCE
#include "esp_log.h"
#include "host_clock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Per-tag levels: a short list; lookups are rare next to the cost of printing. */
typedef struct tag_level {
    struct tag_level *next;
    esp_log_level_t level;
    char tag[];
} tag_level_t;

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static tag_level_t *s_tags;
static _Atomic int s_tag_count;
static _Atomic int s_default_level = ESP_LOG_INFO;

void esp_log_level_set(const char *tag, esp_log_level_t level)
{
    if (tag == NULL) {
        return;
    }
    pthread_mutex_lock(&s_mu);
    if (strcmp(tag, "*") == 0) {
        atomic_store(&s_default_level, (int)level);
        while (s_tags != NULL) {
            tag_level_t *next = s_tags->next;
            free(s_tags);
            s_tags = next;
        }
        atomic_store(&s_tag_count, 0);
    } else {
        tag_level_t *t = s_tags;
        while (t != NULL && strcmp(t->tag, tag) != 0) {
            t = t->next;
        }
        if (t == NULL) {
            size_t len = strlen(tag);
            t = malloc(sizeof(*t) + len + 1);
            if (t != NULL) {
                memcpy(t->tag, tag, len + 1);
                t->next = s_tags;
                s_tags = t;
                atomic_fetch_add(&s_tag_count, 1);
            }
        }
        if (t != NULL) {
            t->level = level;
        }
    }
    pthread_mutex_unlock(&s_mu);
}

esp_log_level_t esp_log_level_get(const char *tag)
{
    esp_log_level_t level = (esp_log_level_t)atomic_load(&s_default_level);
    if (tag == NULL || atomic_load(&s_tag_count) == 0) {
        return level;
    }
    pthread_mutex_lock(&s_mu);
    for (const tag_level_t *t = s_tags; t != NULL; t = t->next) {
        if (strcmp(t->tag, tag) == 0) {
            level = t->level;
            break;
        }
    }
    pthread_mutex_unlock(&s_mu);
    return level;
}

uint32_t esp_log_timestamp(void)
{
    return (uint32_t)(ws_host_us_since_start() / 1000);
}

static bool use_colour(void)
{
    static _Atomic int decided = -1;   /* -1 unknown, 0 no, 1 yes */
    int d = atomic_load(&decided);
    if (d < 0) {
        d = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
        atomic_store(&decided, d);
    }
    return d == 1;
}

static const char *level_letter(esp_log_level_t level)
{
    switch (level) {
    case ESP_LOG_ERROR:   return "E";
    case ESP_LOG_WARN:    return "W";
    case ESP_LOG_INFO:    return "I";
    case ESP_LOG_DEBUG:   return "D";
    default:              return "V";
    }
}

/* ESP-IDF's colours: E red, W yellow, I green; D and V plain. */
static const char *level_colour(esp_log_level_t level)
{
    switch (level) {
    case ESP_LOG_ERROR: return "\033[0;31m";
    case ESP_LOG_WARN:  return "\033[0;33m";
    case ESP_LOG_INFO:  return "\033[0;32m";
    default:            return NULL;
    }
}

void esp_log_writev(esp_log_level_t level, const char *tag, const char *format, va_list args)
{
    if (level > esp_log_level_get(tag)) {
        return;
    }
    vfprintf(stdout, format, args);
    fflush(stdout);
}

void esp_log_write(esp_log_level_t level, const char *tag, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    esp_log_writev(level, tag, format, args);
    va_end(args);
}

void esp_log_host_line(esp_log_level_t level, const char *tag, const char *format, ...)
{
    if (level == ESP_LOG_NONE || level > esp_log_level_get(tag)) {
        return;
    }
    const char *colour = use_colour() ? level_colour(level) : NULL;
    va_list args;
    va_start(args, format);
    flockfile(stdout);
    fprintf(stdout, "%s%s (%u) %s: ", colour != NULL ? colour : "", level_letter(level),
            (unsigned)esp_log_timestamp(), tag != NULL ? tag : "");
    vfprintf(stdout, format, args);
    fputs(colour != NULL ? "\033[0m\n" : "\n", stdout);
    fflush(stdout);
    funlockfile(stdout);
    va_end(args);
}

void esp_log_buffer_hex_internal(const char *tag, const void *buffer, uint16_t buff_len, esp_log_level_t level)
{
    const uint8_t *p = buffer;
    char line[16 * 3 + 1];
    for (size_t off = 0; off < buff_len; off += 16) {
        size_t n = buff_len - off < 16 ? buff_len - off : 16;
        char *w = line;
        for (size_t i = 0; i < n; i++) {
            w += sprintf(w, i + 1 < n ? "%02x " : "%02x", p[off + i]);
        }
        esp_log_host_line(level, tag, "%s", line);
    }
}

void esp_log_buffer_char_internal(const char *tag, const void *buffer, uint16_t buff_len, esp_log_level_t level)
{
    const char *p = buffer;
    for (size_t off = 0; off < buff_len; off += 16) {
        int n = buff_len - off < 16 ? (int)(buff_len - off) : 16;
        esp_log_host_line(level, tag, "%.*s", n, p + off);
    }
}

void esp_log_buffer_hexdump_internal(const char *tag, const void *buffer, uint16_t buff_len, esp_log_level_t level)
{
    const uint8_t *p = buffer;
    for (size_t off = 0; off < buff_len; off += 16) {
        size_t n = buff_len - off < 16 ? buff_len - off : 16;
        char hex[16 * 3 + 2];
        char ascii[17];
        char *w = hex;
        for (size_t i = 0; i < 16; i++) {
            if (i < n) {
                w += sprintf(w, "%02x ", p[off + i]);
            } else {
                w += sprintf(w, "   ");
            }
            if (i == 7) {
                *w++ = ' ';
                *w = '\0';
            }
            ascii[i] = i < n ? ((p[off + i] >= 0x20 && p[off + i] < 0x7f) ? (char)p[off + i] : '.') : '\0';
        }
        ascii[16] = '\0';
        esp_log_host_line(level, tag, "%p   %s |%s|", (const void *)(p + off), hex, ascii);
    }
}
