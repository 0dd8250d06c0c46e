/*
 * trivial_fcgi: the floor for the benchmark, a FastCGI responder that
 * answers every request with a tiny JSON body and touches nothing else.
 * Measured in the same run as modbox.fcgi, it shows what the web server
 * and the FastCGI hop cost by themselves.
 */
#include <fcgiapp.h>

int
main(void)
{
	static const char resp[] =
	    "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n{\"ok\":true}";
	FCGX_Request r;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0) {
		FCGX_PutStr(resp, (int)sizeof resp - 1, r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
