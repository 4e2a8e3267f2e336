package dev.inferpipe.consumer.exported;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The inputs and outputs an ONNX graph declares (name, element type, dimensions), read straight
 * from the file's protobuf without loading the weights: {@code ModelProto.graph} (7) ->
 * {@code GraphProto.input} (11) / {@code output} (12) -> {@code ValueInfoProto} name (1) and
 * {@code type.tensor_type} elem_type and shape. Initializers listed as inputs (old exporters) are
 * left out. It gives the dtype of integer inputs, which DJL's ONNX Runtime engine does not expose.
 */
public record OnnxSignature(List<Tensor> inputs, List<Tensor> outputs) {

  /**
   * @param dtype ONNX's name, lower case: {@code float32}, {@code int64}, ...
   * @param dims one entry per dimension; -1 for a symbolic or unknown one
   */
  public record Tensor(String name, String dtype, long[] dims) {
    public String shapeText() {
      StringBuilder text = new StringBuilder("[");
      for (int i = 0; i < dims.length; i++) {
        text.append(i == 0 ? "" : ",").append(dims[i] < 0 ? "?" : String.valueOf(dims[i]));
      }
      return text.append(']').toString();
    }
  }

  private static final String[] ELEMENT_TYPES = {"undefined", "float32", "uint8", "int8",
      "uint16", "int16", "int32", "int64", "string", "bool", "float16", "float64", "uint32",
      "uint64", "complex64", "complex128", "bfloat16"};

  /** Reads {@code file}; a file that is not an ONNX model fails with a message saying so. */
  public static OnnxSignature read(Path file) throws IOException {
    try (Wire in = new Wire(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
      while (!in.atEnd(Long.MAX_VALUE)) {
        long tag = in.varint();
        if (tag >>> 3 == 7 && (tag & 7) == 2) {
          long end = in.messageEnd();
          return graph(in, end);
        }
        in.skip(tag);
      }
    } catch (EOFException | IllegalStateException e) {
      throw new IOException(file + " is not a valid ONNX model: " + e.getMessage(), e);
    }
    throw new IOException(file + " is not an ONNX model: it has no graph");
  }

  private static OnnxSignature graph(Wire in, long end) throws IOException {
    List<Tensor> inputs = new ArrayList<>();
    List<Tensor> outputs = new ArrayList<>();
    Set<String> initializers = new HashSet<>();
    while (!in.atEnd(end)) {
      long tag = in.varint();
      int field = (int) (tag >>> 3);
      if ((tag & 7) == 2 && (field == 11 || field == 12)) {
        Tensor tensor = valueInfo(in, in.messageEnd());
        (field == 11 ? inputs : outputs).add(tensor);
      } else if ((tag & 7) == 2 && field == 5) {
        initializers.add(initializerName(in, in.messageEnd()));
      } else {
        in.skip(tag);
      }
    }
    inputs.removeIf(t -> initializers.contains(t.name()));
    return new OnnxSignature(List.copyOf(inputs), List.copyOf(outputs));
  }

  private static String initializerName(Wire in, long end) throws IOException {
    String name = "";
    while (!in.atEnd(end)) {
      long tag = in.varint();
      if (tag >>> 3 == 8 && (tag & 7) == 2) {
        name = in.string();
      } else {
        in.skip(tag);
      }
    }
    return name;
  }

  private static Tensor valueInfo(Wire in, long end) throws IOException {
    String name = "";
    String dtype = "undefined";
    List<Long> dims = new ArrayList<>();
    while (!in.atEnd(end)) {
      long tag = in.varint();
      int field = (int) (tag >>> 3);
      if (field == 1 && (tag & 7) == 2) {
        name = in.string();
      } else if (field == 2 && (tag & 7) == 2) {
        long typeEnd = in.messageEnd();
        while (!in.atEnd(typeEnd)) {
          long typeTag = in.varint();
          if (typeTag >>> 3 == 1 && (typeTag & 7) == 2) {
            long tensorEnd = in.messageEnd();
            while (!in.atEnd(tensorEnd)) {
              long tensorTag = in.varint();
              if (tensorTag >>> 3 == 1 && (tensorTag & 7) == 0) {
                int code = (int) in.varint();
                dtype = code >= 0 && code < ELEMENT_TYPES.length ? ELEMENT_TYPES[code] : "type" + code;
              } else if (tensorTag >>> 3 == 2 && (tensorTag & 7) == 2) {
                dims = shape(in, in.messageEnd());
              } else {
                in.skip(tensorTag);
              }
            }
          } else {
            in.skip(typeTag);
          }
        }
      } else {
        in.skip(tag);
      }
    }
    return new Tensor(name, dtype, dims.stream().mapToLong(Long::longValue).toArray());
  }

  private static List<Long> shape(Wire in, long end) throws IOException {
    List<Long> dims = new ArrayList<>();
    while (!in.atEnd(end)) {
      long tag = in.varint();
      if (tag >>> 3 == 1 && (tag & 7) == 2) {
        long dimEnd = in.messageEnd();
        long value = -1;
        while (!in.atEnd(dimEnd)) {
          long dimTag = in.varint();
          if (dimTag >>> 3 == 1 && (dimTag & 7) == 0) {
            value = in.varint();
          } else {
            in.skip(dimTag);
          }
        }
        dims.add(value);
      } else {
        in.skip(tag);
      }
    }
    return dims;
  }

  /** Protobuf wire format over a stream, tracking the position so nested ends can be checked. */
  private static final class Wire implements AutoCloseable {
    private final InputStream in;
    private long position;

    Wire(InputStream in) {
      this.in = in;
    }

    long position() {
      return position;
    }

    /** Reads a length prefix; returns where the message it announces ends. */
    long messageEnd() throws IOException {
      long length = varint();
      return position + length;
    }

    boolean atEnd(long end) throws IOException {
      if (position > end) {
        throw new IllegalStateException("a field overruns its message at byte " + position);
      }
      if (position == end) {
        return true;
      }
      if (end == Long.MAX_VALUE) {
        in.mark(1);
        int next = in.read();
        in.reset();
        return next < 0;
      }
      return false;
    }

    int read() throws IOException {
      int b = in.read();
      if (b < 0) {
        throw new EOFException("truncated at byte " + position);
      }
      position++;
      return b;
    }

    long varint() throws IOException {
      long value = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        int b = read();
        value |= (long) (b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
          return value;
        }
      }
      throw new IllegalStateException("malformed varint at byte " + position);
    }

    String string() throws IOException {
      long length = varint();
      if (length > 1 << 20) {
        throw new IllegalStateException("a name of " + length + " bytes");
      }
      byte[] bytes = in.readNBytes((int) length);
      if (bytes.length != length) {
        throw new EOFException("truncated at byte " + position);
      }
      position += length;
      return new String(bytes, StandardCharsets.UTF_8);
    }

    void skip(long tag) throws IOException {
      switch ((int) (tag & 7)) {
        case 0 -> varint();
        case 1 -> skipBytes(8);
        case 2 -> skipBytes(varint());
        case 5 -> skipBytes(4);
        default -> throw new IllegalStateException("wire type " + (tag & 7) + " at byte " + position);
      }
    }

    private void skipBytes(long count) throws IOException {
      if (count < 0) {
        throw new IllegalStateException("negative length at byte " + position);
      }
      in.skipNBytes(count);
      position += count;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
