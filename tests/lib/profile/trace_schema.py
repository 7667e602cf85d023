"""JSON Schemas of the profiler's files, written from their formats' documents (not from
our code):

- the Chrome "Trace Event Format" (Google, docs.google.com/document/d/
  1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU): a JSON object whose ``traceEvents`` is a
  list of events; every event has ``ph``; ``X`` (complete) events have ``name``, ``ts``,
  ``dur`` (microseconds), ``pid``, ``tid``; ``M`` (metadata) events name a process or
  thread in ``args.name``; ``C`` (counter) events have numeric ``args``;
- speedscope's ``file-format-schema.json`` (the ``sampled`` profile's fields).
"""

NUMBER = {"type": "number"}
ID = {"type": "integer"}

TRACE = {
    "type": "object",
    "required": ["traceEvents"],
    "properties": {
        "displayTimeUnit": {"enum": ["ms", "ns"]},
        "traceEvents": {"type": "array", "items": {
            "type": "object",
            "required": ["ph", "pid"],
            "properties": {"ph": {"enum": ["B", "E", "X", "i", "I", "C", "M", "b", "e", "n",
                                           "s", "t", "f", "P", "N", "O", "D"]},
                           "name": {"type": "string"}, "cat": {"type": "string"},
                           "pid": ID, "tid": ID, "ts": NUMBER,
                           "args": {"type": "object"}},
            "allOf": [
                {"if": {"properties": {"ph": {"const": "X"}}},
                 "then": {"required": ["name", "ts", "dur", "tid"],
                          "properties": {"dur": {"type": "number", "minimum": 0},
                                         "ts": {"type": "number", "minimum": 0}}}},
                {"if": {"properties": {"ph": {"const": "M"}}},
                 "then": {"required": ["name", "args"],
                          "properties": {"name": {"enum": ["process_name", "thread_name",
                                                           "process_sort_index",
                                                           "thread_sort_index"]},
                                         "args": {"required": ["name"]}}}},
                {"if": {"properties": {"ph": {"const": "C"}}},
                 "then": {"required": ["name", "ts", "args"],
                          "properties": {"args": {"additionalProperties": NUMBER}}}},
            ]}},
    },
}

SPEEDSCOPE = {
    "type": "object",
    "required": ["$schema", "shared", "profiles"],
    "properties": {
        "$schema": {"const": "https://www.speedscope.app/file-format-schema.json"},
        "shared": {"type": "object", "required": ["frames"], "properties": {
            "frames": {"type": "array", "items": {
                "type": "object", "required": ["name"],
                "properties": {"name": {"type": "string"}, "file": {"type": "string"},
                               "line": {"type": "number"}}}}}},
        "profiles": {"type": "array", "items": {
            "type": "object",
            "required": ["type", "name", "unit", "startValue", "endValue", "samples",
                         "weights"],
            "properties": {"type": {"const": "sampled"},
                           "unit": {"enum": ["none", "nanoseconds", "microseconds",
                                             "milliseconds", "seconds", "bytes"]},
                           "samples": {"type": "array",
                                       "items": {"type": "array", "items": ID}},
                           "weights": {"type": "array", "items": NUMBER}}}},
    },
}
