package dev.inferpipe.core.job;

import java.util.List;

/** A job was refused; {@link #fieldErrors()} names every invalid field and why. */
public final class InvalidJobException extends Exception {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final transient List<FieldError> fieldErrors;

  public InvalidJobException(ErrorCode code, List<FieldError> fieldErrors) {
    super(summary(code, fieldErrors), null, false, false);
    this.code = code;
    this.fieldErrors = List.copyOf(fieldErrors);
  }

  private static String summary(ErrorCode code, List<FieldError> errors) {
    StringBuilder text = new StringBuilder(code.name());
    for (FieldError error : errors) {
      text.append("; ").append(error.field().isEmpty() ? "(document)" : error.field())
          .append(": ").append(error.message());
    }
    return text.toString();
  }

  public ErrorCode code() {
    return code;
  }

  public List<FieldError> fieldErrors() {
    return fieldErrors;
  }
}
