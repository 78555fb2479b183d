/*
 * esp_system_host.c - host versions of small ESP-IDF system services: process clock
 * (esp_timer_get_time, xTaskGetTickCount, vTaskDelay), randomness (esp_random, esp_fill_random),
 * the pretended IDF version, heap figures and esp_restart.
 */
#define _GNU_SOURCE
#include "esp_idf_version.h"
#include "esp_random.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "host_clock.h"
#include "ws_port.h"

#include <malloc.h>
#include <stdio.h>
#include <time.h>

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t s_start_us;

/* Runs before main() so "since start" means since the process started, as on a device. */
__attribute__((constructor)) static void host_clock_init(void)
{
    s_start_us = mono_us();
}

int64_t ws_host_us_since_start(void)
{
    return mono_us() - s_start_us;
}

int64_t esp_timer_get_time(void)
{
    return ws_host_us_since_start();
}

TickType_t xTaskGetTickCount(void)
{
    return (TickType_t)(ws_host_us_since_start() / 1000);
}

void vTaskDelay(const TickType_t ticks)
{
    ws_port_sleep_ms(ticks);
}

uint32_t esp_random(void)
{
    uint32_t r;
    ws_port_random(&r, sizeof(r));
    return r;
}

void esp_fill_random(void *buf, size_t len)
{
    ws_port_random(buf, len);
}

#define STR_(x) #x
#define STR(x) STR_(x)

const char *esp_get_idf_version(void)
{
    return "v" STR(ESP_IDF_VERSION_MAJOR) "." STR(ESP_IDF_VERSION_MINOR) "." STR(ESP_IDF_VERSION_PATCH) "-host";
}

uint32_t esp_get_free_heap_size(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.fordblks > UINT32_MAX ? UINT32_MAX : (uint32_t)mi.fordblks;
}

uint32_t esp_get_minimum_free_heap_size(void)
{
    return esp_get_free_heap_size();
}

void esp_restart(void)
{
    fflush(NULL);
    fprintf(stderr, "esp_restart() on the host: exiting\n");
    exit(0);
}
