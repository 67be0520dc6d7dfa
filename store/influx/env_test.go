package influx

// childEnv marks a child process of a kill test.
const childEnv = "HEADEND_INFLUX_KILL_CHILD"
