"""Runs moto's server (moto 5.2.5) with the fixes that the emulator tests need.

Usage: python moto_patched.py -H 127.0.0.1 -p PORT  (same arguments as moto_server)

Why each fix exists (all are gaps of moto 5.2.5's Step Functions interpreter, not behaviour
of AWS that the generated state machines rely on):

1. `states:startExecution` (.sync, .sync:2 and plain) fails every time with cause
   'StateMachineArn': the base `StateTaskService._normalise_parameters` and
   `_normalise_response` are no-ops, so the ASL-cased parameters (StateMachineArn, Input, Name)
   reach boto3 unconverted and the response comes back in boto casing (executionArn, output)
   where the resolver expects ExecutionArn/Output. The fix converts both ways with the helpers
   moto already has (`_to_boto_request`, `_from_boto_response`) and botocore's Step Functions
   model, for the `states` integration only (DynamoDB already normalises itself).

2. An execution started without a name (a child started without `Name`, or a StartExecution
   call without `name`) is named "None", so a second one fails with ExecutionAlreadyExists.
   AWS generates a UUID: so does the fix. Names are also checked as AWS checks them (1..80
   characters, no whitespace or `<>{}[]?*"#%\^|~`$&,;:/`): moto's executing backend does not
   check them, so a generated child name that AWS would refuse went unnoticed.

3. Variables (`Assign`, then `$name` in a JSONPath state) are evaluated through JSONata, which
   moto ships stubbed out (its JVM bridge is not included), so any read of a variable fails with
   "'NoneType' object is not callable". The fix plugs in the pure-Python `jsonata-python`
   package, which also makes `QueryLanguage: JSONata` states work.

4. DynamoDB applies each write to one item atomically; moto's in-memory backend does not
   (`update_item` reads, evaluates and writes back without a lock), so two parallel branches
   appending to the same list (the test job type's event log, the exact-join counters) could
   lose an update under the threaded server. The fix serialises item writes with one lock.

5. A definite JSONPath that starts with an index, such as `$[0].failed` (how a Parallel's
   ResultSelector reads one branch's result), yields a one-element list in moto (`[true]`)
   where AWS yields the value (`true`): moto's fix for its issue 7825 wraps any match whose
   parent step is an index. The fix returns the single value for definite paths (no wildcard,
   slice, filter or recursive descent) and leaves every other path to moto.

6. AWS SDK integrations (`arn:aws:states:::aws-sdk:<service>:<action>`) take PascalCase
   parameters and answer in PascalCase on AWS. moto 5.2.5 hands the parameters to boto3 as
   written (so `ExecutionArn` for Step Functions' `executionArn` fails validation) and returns
   boto's casing (`status`). The fix converts both ways with the service's botocore model,
   as fix 1 does for the `states` integration. The delay monitors use `sfn:stopExecution` and
   `sfn:describeExecution` through it.

7. A Wait state's `Timestamp`/`TimestampPath` must be an RFC 3339 date-time, and AWS accepts a
   numeric offset (`2027-01-04T26:30` is sent as `2027-01-04T02:30:00-15:00`, see
   `until_timestamp` in src/back/asl.rs; LocalStack issue 10523 reports AWS accepting
   `+00:00`). moto 5.2.5 accepts only a trailing `Z` and compares against local wall-clock
   time. The fix parses offsets and compares in UTC.

8. AWS names an AWS SDK integration's errors `ServiceName.ErrorName`, in PascalCase
   (`S3.NoSuchKeyException`, `S3.S3Exception`; "Learning to use AWS service SDK integrations"
   in the Step Functions guide). moto 5.2.5 knows the PascalCase name of DynamoDB and Step
   Functions only and writes S3's as `s3.s3Exception`, which no catcher of a file judgment,
   end judgment or file wait matches. The fix adds S3's.

9. The result of a plain `states:startExecution` task keeps boto's `datetime` for
   `StartDate`; when it reaches an execution's output (the gate's `StartRun` ends the gate
   execution), moto's DescribeExecution fails with "datetime is not JSON serializable" (HTTP
   500). The fix writes such timestamps as epoch milliseconds, a JSON number.
"""

import datetime
import functools
import importlib
import os
import re
import sys
import threading
import uuid

from botocore.session import get_session

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main
from moto.stepfunctions.exceptions import InvalidName
from moto.stepfunctions.parser import models as parser_models
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as sdk_service,
    state_task_service_sfn as sfn_service,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (
    timestamp as moto_timestamp,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEventException,
)
from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata
from moto.stepfunctions.parser.asl.utils import json_path as moto_json_path

_SFN_MODEL = get_session().get_service_model("stepfunctions")
_OPERATIONS = {
    # "start_execution" -> OperationModel("StartExecution")
    "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_"): _SFN_MODEL.operation_model(name)
    for name in _SFN_MODEL.operation_names
}

_original_normalise_parameters = sfn_service.StateTaskServiceSfn._normalise_parameters


def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
    _original_normalise_parameters(
        self,
        parameters,
        boto_service_name=boto_service_name,
        service_action_name=service_action_name,
    )
    operation = _OPERATIONS.get(self._get_boto_service_action(service_action_name))
    if operation is not None and operation.input_shape is not None:
        self._to_boto_request(parameters, operation.input_shape)


def _json_timestamps(value):
    """Fix 9: boto's datetimes as the epoch milliseconds AWS writes into a task's result."""
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        for k, v in value.items():
            value[k] = _json_timestamps(v)
    elif isinstance(value, list):
        value[:] = [_json_timestamps(v) for v in value]
    return value


def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
    operation = _OPERATIONS.get(self._get_boto_service_action(service_action_name))
    if operation is not None and operation.output_shape is not None:
        self._from_boto_response(response, operation.output_shape)
    _json_timestamps(response)


sfn_service.StateTaskServiceSfn._normalise_parameters = _normalise_parameters
sfn_service.StateTaskServiceSfn._normalise_response = _normalise_response

@functools.lru_cache(maxsize=None)
def _sdk_operation(service, snake_action):
    model = get_session().get_service_model(service)
    for name in model.operation_names:
        if "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_") == snake_action:
            return model.operation_model(name)
    return None


def _sdk_normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
    operation = _sdk_operation(
        self._get_boto_service_name(boto_service_name),
        self._get_boto_service_action(service_action_name),
    )
    if operation is not None and operation.input_shape is not None:
        self._to_boto_request(parameters, operation.input_shape)


def _sdk_normalise_response(self, response, boto_service_name=None, service_action_name=None):
    operation = _sdk_operation(
        self._get_boto_service_name(boto_service_name),
        self._get_boto_service_action(service_action_name),
    )
    if operation is not None and operation.output_shape is not None:
        self._from_boto_response(response, operation.output_shape)


sdk_service.StateTaskServiceAwsSdk._normalise_parameters = _sdk_normalise_parameters
sdk_service.StateTaskServiceAwsSdk._normalise_response = _sdk_normalise_response
sdk_service._SERVICE_ERROR_NAMES["s3"] = "S3"

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _from_timestamp_string(timestamp):
    if not isinstance(timestamp, str) or not _RFC3339.match(timestamp):
        return None
    try:
        value = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.astimezone(datetime.timezone.utc)


def _get_wait_seconds(self, env):
    self.string.eval(env=env)
    timestamp_str = env.stack.pop()
    timestamp = _from_timestamp_string(timestamp_str)
    if timestamp is None:
        raise FailureEventException(self._create_failure_event(env, timestamp_str))
    return int((timestamp - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


moto_timestamp.Timestamp._from_timestamp_string = staticmethod(_from_timestamp_string)
moto_timestamp.Timestamp._get_wait_seconds = _get_wait_seconds

_original_start_execution = parser_models.StepFunctionsParserBackend.start_execution


# AWS: 1..80 characters, none of whitespace, < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : / or
# control characters.
_INVALID_NAME = re.compile(r'[\s<>{}\[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]')


def _start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
    if name is None:
        name = str(uuid.uuid4())
    if not 1 <= len(name) <= 80 or _INVALID_NAME.search(name):
        raise InvalidName(f"Invalid Name: '{name}'")
    return _original_start_execution(
        self,
        state_machine_arn,
        name=name,
        execution_input=execution_input,
        trace_header=trace_header,
    )


parser_models.StepFunctionsParserBackend.start_execution = _start_execution


def _eval_jsonata(expression):
    import jsonata

    try:
        return jsonata.Jsonata(expression).evaluate(None)
    except Exception as ex:  # moto maps JSONataException to States.QueryEvaluationError
        raise moto_jsonata.JSONataException("UNKNOWN", str(ex)) from ex


moto_jsonata._eval_jsonata = _eval_jsonata

_DEFINITE_PATH = re.compile(r"^\$(?:\.[A-Za-z_][A-Za-z0-9_-]*|\['[^'\]]*'\]|\[\d+\])*$")
_original_extract_json = moto_json_path.extract_json


def _extract_json(path, data):
    if _DEFINITE_PATH.match(path):
        from jsonpath_ng.ext import parse

        matches = parse(path).find(data)
        if len(matches) == 1:
            return matches[0].value
    return _original_extract_json(path, data)


moto_json_path.extract_json = _extract_json
for _module in (
    "moto.stepfunctions.parser.asl.component.common.string.string_expression",
    "moto.stepfunctions.parser.asl.component.intrinsic.argument.argument",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.timestamp_operators",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.boolean_equals",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.numeric",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.string_operators",
    "moto.stepfunctions.parser.asl.eval.states",
):
    _mod = importlib.import_module(_module)
    assert _mod.extract_json is _original_extract_json, _module
    _mod.extract_json = _extract_json

_ITEM_WRITE_LOCK = threading.RLock()


def _atomic(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _ITEM_WRITE_LOCK:
            return method(*args, **kwargs)

    return wrapper


for _name in ("put_item", "update_item", "delete_item", "transact_write_items"):
    setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))



def _exit_when_parent_goes():
    """With JOBNET2SFN_EXIT_ON_STDIN_EOF=1 the server exits when its stdin closes: the test
    process holds the pipe, so even a test binary killed mid-run leaves no server behind."""
    sys.stdin.buffer.read()
    os._exit(0)


if __name__ == "__main__":
    if os.environ.get("JOBNET2SFN_EXIT_ON_STDIN_EOF") == "1":
        threading.Thread(target=_exit_when_parent_goes, daemon=True).start()
    main(sys.argv[1:])
