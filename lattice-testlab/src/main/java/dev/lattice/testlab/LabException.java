package dev.lattice.testlab;

/** Something in the lab could not be set up, run or torn down. Carries the failing command's output. */
public class LabException extends RuntimeException {
    public LabException(String message) {
        super(message);
    }

    public LabException(String message, Throwable cause) {
        super(message, cause);
    }
}
