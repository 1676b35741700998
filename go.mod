module github.com/dripdrop-go/dripdrop

go 1.25
