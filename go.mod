module github.com/headend/headend

go 1.26
