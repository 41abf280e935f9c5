# worker tests of the service
