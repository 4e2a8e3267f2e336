package dev.inferpipe.core.job;

/** Why a job failed. The message is for humans and never contains prompt text. */
public record JobError(ErrorCode code, String message) {}
