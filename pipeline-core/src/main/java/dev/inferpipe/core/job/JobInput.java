package dev.inferpipe.core.job;

/** Task-specific input of a job; the JSON shape is fixed by the job's {@link Task}. */
public sealed interface JobInput permits Txt2ImgInput, VqaInput {}
