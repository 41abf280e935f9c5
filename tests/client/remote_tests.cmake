# client tests of the service
