package dev.aded.examples.server;

import com.google.gson.JsonObject;

/** A request the server refuses, answered with its HTTP status and an OpenAI-style {@code {"error": {...}}} body. */
final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String code;
    private final String param;

    ApiException(int status, String type, String code, String param, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
    }

    /** 400 for a request that names a field: the field, and what is wrong with it. */
    static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", "invalid_value", param, message);
    }

    int status() {
        return status;
    }

    /** What {@code aded_errors_total} counts this refusal as. */
    String kind() {
        return code;
    }

    JsonObject toJson() {
        JsonObject error = new JsonObject();
        error.addProperty("message", getMessage());
        error.addProperty("type", type);
        error.addProperty("param", param);
        error.addProperty("code", code);
        JsonObject o = new JsonObject();
        o.add("error", error);
        return o;
    }
}
