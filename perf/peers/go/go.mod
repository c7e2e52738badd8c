module braidpeers

go 1.19
