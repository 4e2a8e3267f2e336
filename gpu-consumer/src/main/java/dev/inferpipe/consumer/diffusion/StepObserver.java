package dev.inferpipe.consumer.diffusion;

/** Told about every sampling step (spans, events, metrics, cancellation). */
public interface StepObserver {
  StepObserver NONE = (index, timestep) -> () -> { };

  /** Called before step {@code index}; the returned handle is closed when the step is done. */
  Step begin(int index, int timestep);

  /** The end of one step. */
  interface Step extends AutoCloseable {
    @Override
    void close();
  }
}
