# client tests of the service: `judge submit | wait | status | stats` against a broker
# played by the test over real ZeroMQ.
judge_test(remote_test client/remote_test.cc)
target_link_libraries(remote_test PRIVATE judge_client)
target_compile_definitions(remote_test PRIVATE JUDGE_CLI_BIN="$<TARGET_FILE:judge>")
add_dependencies(remote_test judge)
