package dev.inferpipe.api;

import dev.inferpipe.core.webhook.KeyWebhook;

/**
 * One API key as stored: never the key itself, only its SHA-256.
 *
 * @param ratePerSecond sustained submissions per second; {@code burst} more may come at once
 * @param maxQueued jobs of the tenant that may be QUEUED or RUNNING at a time
 * @param webhook the key's webhook secret, allowed hosts and default URL; null when its jobs may
 *     not have webhooks
 */
record ApiKey(String id, String tenant, String sha256, boolean disabled, double ratePerSecond,
    int burst, int maxQueued, KeyWebhook webhook) {}
