"schemathesis hooks for tests/test_service_fuzz.py (loaded through SCHEMATHESIS_HOOKS)."
import schemathesis


@schemathesis.hook
def map_case(context, case):
    "What JSON Schema cannot say and the OpenAPI document says with `x-length-of`: one event time per record, in valid cases."
    body = case.body
    positive = case.meta is None or case.meta.generation.mode.is_positive
    if positive and isinstance(body, dict) and isinstance(body.get('records'), list) and isinstance(body.get('event_times'), list):
        n, times = len(body['records']), body['event_times']
        if times: body['event_times'] = [times[i % len(times)] for i in range(n)]
        else: del body['event_times']
    return case
