//! Back-ends: ASL state machines, CloudFormation, reports and graphs.
