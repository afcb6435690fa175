# Convenience for machines that have make; ./dev is the real entry (fresh machines lack make).
.PHONY: test sandbox bench setup
test:
	./dev test
sandbox:
	./dev sandbox
bench:
	./dev bench
setup:
	./dev setup
