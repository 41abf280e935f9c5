# service tests of the service
