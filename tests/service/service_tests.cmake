# The service's tests: real judge-broker / judge-worker / judge processes on loopback.
add_library(judge_service_testing STATIC service/service_util.cc)
target_link_libraries(judge_service_testing PUBLIC judge_wire GTest::gtest)
target_compile_definitions(judge_service_testing PUBLIC
  JUDGE_BROKER_BIN="$<TARGET_FILE:judge-broker>"
  JUDGE_WORKER_BIN="$<TARGET_FILE:judge-worker>"
  JUDGE_CLI_BIN="$<TARGET_FILE:judge>")

judge_test(broker_test service/broker_test.cc)
target_link_libraries(broker_test PRIVATE judge_service_testing)
add_dependencies(broker_test judge-broker)

# End to end: the real broker, workers and CLI judging real submissions. Root and
# compilers (the VM has none).
judge_test(e2e_test service/e2e_test.cc PRIVILEGED NO_VM)
target_link_libraries(e2e_test PRIVATE judge_service_testing)
add_dependencies(e2e_test judge-broker judge-worker judge)

# CURVE on the broker's sockets: keys, refusals, SIGHUP reload, loopback without keys;
# one job end to end with the real worker and CLI over CURVE (hence privileged).
judge_test(curve_test service/curve_test.cc PRIVILEGED NO_VM)
target_link_libraries(curve_test PRIVATE judge_service_testing)
add_dependencies(curve_test judge-broker judge-worker judge)

# Exec jobs through the library, the `judge exec` CLI, and the CLI through a real broker
# and worker: root and compilers.
judge_test(exec_test worker/exec_test.cc PRIVILEGED NO_VM)
target_link_libraries(exec_test PRIVATE judge_client judge_service_testing)
add_dependencies(exec_test judge judge-broker judge-worker)
