# worker tests of the service: the real judge-worker binary against a broker played by
# the test (a ROUTER socket), judging in real containers.
judge_test(worker_service_test worker/service_test.cc PRIVILEGED NO_VM)
target_link_libraries(worker_service_test PRIVATE judge_wire judge_worker)
target_compile_definitions(worker_service_test PRIVATE
  JUDGE_WORKER_BIN="$<TARGET_FILE:judge-worker>")
add_dependencies(worker_service_test judge-worker)
