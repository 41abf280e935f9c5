# Attacks through the judging path (hostile sources, compilers, checkers, interactors,
# solutions, names and problem packages) against the real Judger and Sandbox.
judge_test(attacks_test security/attacks_test.cc PRIVILEGED NO_VM)
target_link_libraries(attacks_test PRIVATE judge_client)
